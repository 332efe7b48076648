"""The Docker deployment, proved without a Docker engine.

Every static check that `make docker-check` runs (pypy-deployment/docker_check.py: the Dockerfiles,
the compose file, .dockerignore and the requirements files, parsed and checked against the contract
and `make run-*`) must find no problem here, and broken copies of the files show that the checks
can fail. The `emulated` tests replay each image's build and start steps with the local interpreters
(pypy-deployment/emulate_image.py) and check the server the image's command starts.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

import docker_check
from compose_checks import (
    compose_config_problems,
    ignore_rule_problems,
    load_reference_results,
    memory_limit_problems,
    service_problems,
)
from docker_check import compose_command, static_checks
from docker_files import (
    COMPOSE_FILE,
    DEPLOYMENT,
    DOCKERFILES,
    Dockerfile,
    image_config,
    load_compose,
    pins,
)
from dockerfile_checks import (
    DOCKERFILE_CHECKS,
    base_image_problems,
    build_stage_problems,
    copy_source_problems,
    final_image_tool_problems,
    gc_settings_problems,
    healthcheck_problems,
    pin_agreement_problems,
    run_settings_problems,
    source_build_problems,
    unpinned,
    user_problems,
    variants_built_by,
)
from dockerignore import context_files, is_ignored, load_dockerignore, parse_dockerignore
from emulate_image import emulate, emulation_problems
from variants import ROOT, get_variant, variant_names

STATIC_CHECKS = static_checks()


@pytest.mark.parametrize(
    "check", STATIC_CHECKS, ids=[c.name.replace(" ", "") for c in STATIC_CHECKS]
)
def test_static_check_finds_no_problem(check):
    assert check.problems() == []


# --- the checks can fail --------------------------------------------------------------------------


def test_docker_check_fails_when_a_check_finds_a_problem(monkeypatch, capsys):
    failing = docker_check.Check("Dockerfile.pypy: user_problems", lambda: ["USER root is root"])
    monkeypatch.setattr(docker_check, "static_checks", lambda: [failing])
    assert docker_check.main(["docker_check.py"]) == 1
    assert "Dockerfile.pypy: user_problems: USER root is root" in capsys.readouterr().out


# A Dockerfile, one text in it replaced, and the check that must notice.
BROKEN_DOCKERFILES = [
    (
        "pypy",
        "FROM pypy:3.11-7.3.23-slim-bookworm AS runtime",
        "FROM pypy AS runtime",
        base_image_problems,
    ),
    ("cpython", "--start-period=20s", "--start-period=2s", healthcheck_problems),
    ("pypy", "USER 10001:10001", "USER root", user_problems),
    ("pypy", "--no-binary=httptools ", "", source_build_problems),
    ("cpython", "--only-binary=:all: --no-deps", "--no-deps", source_build_problems),
    ("cpython", "pip uninstall --yes Cython setuptools", "pip list", build_stage_problems),
    ("pypy", "EXPOSE 8002", "EXPOSE 8080", run_settings_problems),
    ("pypy", "PYPY_GC_MAX=300MB", "PYPY_GC_MAX=1GB", gc_settings_problems),
    (
        "cpython",
        "COPY variants.py serve.py ./",
        "COPY variants.py serve.py benchmarks ./",
        copy_source_problems,
    ),
    (
        "cpython",
        "USER 10001:10001",
        "RUN apt-get install --yes gcc\nUSER 10001:10001",
        final_image_tool_problems,
    ),
]


@pytest.mark.parametrize(
    ("interpreter", "text", "replacement", "check"),
    BROKEN_DOCKERFILES,
    ids=[f"{interpreter}-{check.__name__}" for interpreter, _, _, check in BROKEN_DOCKERFILES],
)
def test_a_broken_dockerfile_is_caught(tmp_path: Path, interpreter, text, replacement, check):
    original = DOCKERFILES[interpreter].read_text()
    assert text in original
    broken = tmp_path / DOCKERFILES[interpreter].name
    broken.write_text(original.replace(text, replacement))
    dockerfile = Dockerfile.load(broken)
    variant = variants_built_by(interpreter)[0]
    if check in DOCKERFILE_CHECKS:
        problems = check(dockerfile, interpreter)
    elif check is copy_source_problems:
        problems = check(dockerfile, set(context_files()))
    else:
        problems = check(image_config(dockerfile, variant.name), variant)
    assert problems, f"{check.__name__} accepts a Dockerfile with {replacement!r}"


def test_a_requirement_without_an_exact_pin_is_caught(tmp_path: Path):
    (tmp_path / "included.txt").write_text("fastapi>=0.100\nuvicorn==0.54.0\n")
    (tmp_path / "requirements.txt").write_text("-r included.txt\nhttptools==0.9.*\nh11==0.16.0\n")
    problems = unpinned(tmp_path / "requirements.txt")
    assert [p.split(": ")[-1] for p in problems] == ["fastapi>=0.100", "httptools==0.9.*"]


def test_pypy_pins_that_drift_from_cpython_are_caught(tmp_path: Path):
    for file in DEPLOYMENT.glob("requirements*.txt"):
        shutil.copy(file, tmp_path / file.name)
    docker = tmp_path / "requirements-docker.txt"
    name, version = next(iter(pins(docker).items()))
    docker.write_text(docker.read_text().replace(f"=={version}\n", "==0.0.1\n", 1))
    assert any(p.startswith(f"{name}==0.0.1") for p in pin_agreement_problems(tmp_path))


def test_a_dockerignore_that_lets_build_output_in_is_caught():
    rules = [r for r in load_dockerignore() if r.pattern != "**/*.so"]
    problems = ignore_rule_problems(rules)
    assert problems and all(".so would be in the build context" in p for p in problems)


def test_dockerignore_matching_follows_docker_rules():
    rules = parse_dockerignore("*.so\n**/*.c\n!keep.c\n")
    assert is_ignored("a.so", rules)
    assert not is_ignored("sub/a.so", rules)  # `*` does not cross folders
    assert is_ignored("sub/deeper/a.c", rules)
    assert is_ignored("a.c", rules)  # `**/` also matches no folder
    assert not is_ignored("keep.c", rules)  # the last matching rule decides


@pytest.mark.parametrize(
    ("setting", "value", "check"),
    [
        (("ports",), ["0.0.0.0:8002:8002"], service_problems),
        (("environment", "WORKERS"), "${WORKERS:-4}", service_problems),
        (("healthcheck", "start_period"), "5s", service_problems),
        (("deploy", "resources", "limits", "memory"), "512m", memory_limit_problems),
    ],
    ids=["ports", "workers", "start-period", "memory"],
)
def test_a_broken_compose_service_is_caught(setting: tuple[str, ...], value, check):
    broken = load_compose()
    service = broken["services"]["pypy"]
    *path, key = setting
    for name in path:
        service[name] = dict(service[name])  # the YAML anchors share these between services
        service = service[name]
    service[key] = value
    variant = get_variant("pypy")
    if check is memory_limit_problems:
        problems = check(broken, variant, load_reference_results())
    else:
        problems = check(
            broken, variant, image_config(Dockerfile.load(DOCKERFILES["pypy"]), "pypy")
        )
    assert problems


# --- the compose CLI ------------------------------------------------------------------------------


def compose_cli() -> list[str]:
    command = compose_command()
    assert command is not None, (
        "no compose CLI (`docker compose` or `docker-compose`) to validate the compose file: "
        "`make setup` installs Debian's docker-compose (scripts/ensure-system-packages.sh)"
    )
    return command


def test_compose_cli_accepts_the_file():
    """`docker compose config` validates against the compose schema; it needs only the CLI."""
    assert compose_config_problems(compose_cli(), COMPOSE_FILE) == []


def test_compose_cli_rejects_a_broken_file(tmp_path: Path):
    broken = load_compose()
    broken["services"]["pypy"]["memory_limit"] = "2g"  # an option compose does not know
    (tmp_path / "deployment").mkdir()
    path = tmp_path / "deployment" / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    problems = compose_config_problems(compose_cli(), path)
    assert problems and "memory_limit" in problems[0]


# --- the emulated images --------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", variant_names())
def test_emulated_image_serves_the_contract(flavour: str):
    """The image's own steps, replayed with the local interpreter: venv, pinned install, the
    extension, the app files, the CMD as the image's USER, the HEALTHCHECK, then the contract
    (contract_check.py), the processes, the packages and the memory (emulation_problems)."""
    variant = get_variant(flavour)
    result = emulate(flavour)
    assert emulation_problems(result, variant, load_compose()) == []
    # What runs is the staged copy of the app, outside this checkout, whose files this process
    # imports through the local environment's .pth file. The check above compares where the
    # image's python finds each module with the staged /app: had it found this checkout's, it
    # would have said so.
    assert not Path(result.app_dir).is_relative_to(ROOT)
    from_checkout = {name: importlib.util.find_spec(name).origin for name in result.import_origins}
    moved = dataclasses.replace(result, import_origins=from_checkout)
    problems = emulation_problems(moved, variant, load_compose())
    assert any("not imported from the staged" in problem for problem in problems)
