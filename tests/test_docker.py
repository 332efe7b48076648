"""The Docker deployment, proved without a Docker engine.

The Dockerfiles, the compose file, .dockerignore and the requirements files are parsed (by
dockerfile-parse and PyYAML, through pypy-deployment/docker_check.py) and checked against the
contract and `make run-*`; the `emulated` tests replay each image's install and start steps with the
local interpreters (pypy-deployment/emulate_image.py) and check the server it starts.
`make docker-check` runs the static half (`-k "not emulated"`).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import load_results
from variants import ROOT, VARIANTS, get_variant

sys.path.insert(0, str(ROOT / "pypy-deployment"))
docker_check = importlib.import_module("docker_check")

# The official PyPy image's full version tag (PyPy 7.3.23, Python 3.11, Debian 12), as listed in
# library/pypy of github.com/docker-library/official-images, the source of hub.docker.com/_/pypy.
PYPY_TAG = "pypy:3.11-7.3.23-slim-bookworm"
# A full version tag: image:<major.minor.patch or pypy's 3.11-7.3.23>-<variant>-<Debian release>.
FULL_VERSION_TAG = re.compile(
    r"(pypy:\d+\.\d+-\d+\.\d+\.\d+|python:\d+\.\d+\.\d+)-slim-(bookworm|trixie)"
    r"(@sha256:[0-9a-f]{64})?"
)
COMPILERS = re.compile(r"\b(gcc|g\+\+|cc|clang|build-essential|make|cython)\b", re.IGNORECASE)
INTERPRETER_OF = {"pypy": docker_check.DOCKERFILE_PYPY, "cpython": docker_check.DOCKERFILE_CPYTHON}
PROBE_START_PERIOD_MIN = {"pypy": 45.0, "cpython": 10.0}  # seconds; PyPy's JIT warm-up needs more
CMD = ["sh", "-c", 'exec python serve.py "$VARIANT" --python python']


def dockerfile(path: Path):
    return docker_check.Dockerfile.load(path)


def flavours_of(path: Path) -> list[str]:
    return [v.name for v in VARIANTS if INTERPRETER_OF[v.interpreter] == path]


FLAVOURS = [(path, flavour) for path in INTERPRETER_OF.values() for flavour in flavours_of(path)]
FLAVOUR_IDS = [flavour for _, flavour in FLAVOURS]
DOCKERFILE_IDS = [path.name for path in INTERPRETER_OF.values()]


# --- the Dockerfiles ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", INTERPRETER_OF.values(), ids=DOCKERFILE_IDS)
def test_base_images_are_pinned_to_a_full_version_tag(path: Path):
    model = dockerfile(path)
    images = {
        model.parent(stage, model.build_args())
        for stage in model.stages
        if isinstance(model.parent(stage, model.build_args()), str)
    }
    # The build and runtime stages share one base: the extension is compiled against the same
    # interpreter and C library that run it.
    assert len(images) == 1, images
    image = images.pop()
    assert FULL_VERSION_TAG.fullmatch(image), f"{image} is not pinned to a full version tag"
    assert "latest" not in image
    if path == docker_check.DOCKERFILE_PYPY:
        assert image.split("@")[0] == PYPY_TAG


@pytest.mark.parametrize("path", INTERPRETER_OF.values(), ids=DOCKERFILE_IDS)
def test_one_build_argument_chooses_the_flavour(path: Path):
    model = dockerfile(path)
    assert list(model.global_args) == ["VARIANT"]
    assert model.flavours() == flavours_of(path)
    assert model.global_args["VARIANT"] == flavours_of(path)[0]
    for flavour in model.flavours():
        chain = model.chain(model.build_args({"VARIANT": flavour}))
        assert [stage.name for stage in chain] == ["runtime", f"variant-{flavour}", None]


@pytest.mark.parametrize(("path", "flavour"), FLAVOURS, ids=FLAVOUR_IDS)
def test_the_final_stage_runs_as_a_non_root_user(path: Path, flavour: str):
    image = docker_check.image_config(dockerfile(path), flavour)
    assert image.user is not None, "no USER: the server would run as root"
    user, _, group = image.user.partition(":")
    assert user not in {"root", "0"} and group not in {"root", "0"}
    assert user.isdigit() and int(user) >= 1000  # numeric, so runAsNonRoot-style checks can see it
    # USER comes after every RUN of the runtime stage, which need root (useradd).
    names = [i.name for i in image.instructions]
    assert max(i for i, name in enumerate(names) if name == "RUN") < names.index("USER")


@pytest.mark.parametrize(("path", "flavour"), FLAVOURS, ids=FLAVOUR_IDS)
def test_no_compiler_in_the_final_image(path: Path, flavour: str):
    model = dockerfile(path)
    image = docker_check.image_config(model, flavour)
    for instruction in image.instructions:
        if instruction.name == "RUN":
            assert not COMPILERS.search(instruction.value), instruction
            assert "apt-get install" not in instruction.value, instruction
        if instruction.name == "COPY" and "from" in instruction.flags:
            # Only the virtual environment and the compiled extension come from the build stage.
            assert instruction.words()[:-1] in (["/opt/venv"], ["/src/extension/"]), instruction
    # The compiler lives in the build stage only, and is really installed there.
    build = model.stage("build")
    assert any("gcc" in i.value for i in build.all("RUN"))
    assert "build" not in [stage.name for stage in model.chain(model.build_args())]


@pytest.mark.parametrize("path", INTERPRETER_OF.values(), ids=DOCKERFILE_IDS)
def test_build_stage_removes_build_tools_and_never_targets_the_build_cpu(path: Path):
    model = dockerfile(path)
    runs = [i.value for stage in model.stages for i in stage.all("RUN")]
    envs = [i.value for stage in model.stages for i in stage.all("ENV")]
    assert not any("march" in text or "mtune" in text for text in runs + envs)
    assert any(re.search(r"pip uninstall --yes Cython setuptools", text) for text in runs)
    assert any("--no-deps" in text and "pip check" in text for text in runs)
    # setup.py, which the build stage runs, compiles with its COMPILE_FLAGS: -O3, no -march.
    from benchmarks.micro import cython_compile_flags

    flags = cython_compile_flags()
    assert "-O3" in flags
    assert not [flag for flag in flags if flag.startswith(("-march", "-mtune"))]


@pytest.mark.parametrize(("path", "flavour"), FLAVOURS, ids=FLAVOUR_IDS)
def test_healthcheck_asks_health_without_curl_after_a_warm_up_period(path: Path, flavour: str):
    variant = get_variant(flavour)
    check = docker_check.image_config(dockerfile(path), flavour).healthcheck
    assert check is not None, "no HEALTHCHECK"
    assert check.command[:2] == ["python", "-c"], "the probe must not need curl or wget"
    code = check.command[2]
    ast.parse(code)  # valid Python
    assert "/health" in code and "127.0.0.1" in code
    assert "os.environ.get('PORT') or get_variant(os.environ['VARIANT']).default_port" in code
    assert check.seconds("start-period") >= PROBE_START_PERIOD_MIN[variant.interpreter]
    assert 1 <= check.seconds("timeout") < check.seconds("interval")
    inner_timeout = float(re.search(r"timeout=(\d+)", code).group(1))
    assert inner_timeout < check.seconds("timeout")
    assert int(check.options["retries"]) >= 2


@pytest.mark.parametrize(("path", "flavour"), FLAVOURS, ids=FLAVOUR_IDS)
def test_environment_port_and_command_are_those_of_make_run(path: Path, flavour: str):
    variant = get_variant(flavour)
    image = docker_check.image_config(dockerfile(path), flavour)
    assert image.env["VARIANT"] == flavour
    assert image.env["HOST"] == "0.0.0.0"  # reachable from outside the container
    assert image.env["PYTHONUNBUFFERED"] == "1"
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert image.env["PATH"].startswith("/opt/venv/bin:")
    # PORT, WORKERS and FIB_MAX_N keep serve.py's defaults and meaning (the variant's port, the
    # available cores, 35) unless the container is given them.
    assert not {"PORT", "WORKERS", "FIB_MAX_N"} & set(image.env)
    assert image.exposed == [str(variant.default_port)]
    # The command: serve.py for this variant, as `make run-NAME` runs it, under the image's python.
    assert image.cmd == CMD
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^run-{flavour}:.*\n\t@\$\(CPYTHON\) serve\.py {flavour}$", makefile, re.M)
    assert image.instructions[[i.name for i in image.instructions].index("WORKDIR")].value == "/app"


@pytest.mark.parametrize("path", INTERPRETER_OF.values(), ids=DOCKERFILE_IDS)
def test_every_copied_file_exists_and_is_in_the_build_context(path: Path):
    model = dockerfile(path)
    context = set(docker_check.context_files())
    copied = 0
    for stage in model.stages:
        for instruction in stage.all("COPY"):
            sources = instruction.words()[:-1]
            if "from" in instruction.flags:
                assert model.stage(instruction.flags["from"]) is not None, instruction
                continue
            for source in sources:
                copied += 1
                assert (ROOT / source).exists(), f"{instruction}: {source} is not in the repository"
                files = [
                    f for f in context if f == source or f.startswith(source.rstrip("/") + "/")
                ]
                assert files, f"{instruction}: .dockerignore leaves {source} out"
    assert copied >= 6


def requirement_files(path: Path) -> list[Path]:
    model = dockerfile(path)
    return [
        ROOT / source
        for stage in model.stages
        for instruction in stage.all("COPY")
        if "from" not in instruction.flags
        for source in instruction.words()[:-1]
        if source.endswith(".txt")
    ]


@pytest.mark.parametrize("path", INTERPRETER_OF.values(), ids=DOCKERFILE_IDS)
def test_every_requirement_the_images_install_is_pinned(path: Path):
    files = requirement_files(path)
    assert files
    for file in files:
        assert docker_check.unpinned(file) == [], file


def test_pypy_image_pins_agree_with_the_cpython_variants_and_the_local_pypy():
    deployment = ROOT / "pypy-deployment"
    docker = docker_check.pins(deployment / "requirements-docker.txt")
    docker_build = docker_check.pins(deployment / "requirements-docker-build.txt")
    cpython_app = docker_check.pins(ROOT / "baseline" / "requirements.txt")
    cpython_all = docker_check.pins(ROOT / "cython-optimized" / "requirements.txt")
    local_pypy = docker_check.pins(deployment / "requirements.txt")
    local_pypy_build = docker_check.pins(deployment / "requirements-build.txt")
    # PyPy 3.11 takes the same releases as CPython: the comparison measures runtimes, not versions.
    for name, version in {**docker, **docker_build}.items():
        assert cpython_all[name] == version, name
    # ...except the C event loop, which does not install on PyPy: the PyPy variants run asyncio,
    # and the HTTP parser variants.py gives them is installed (httptools, built from source).
    assert set(cpython_app) - set(docker) == {"uvloop"}
    pypy_variants = [v for v in VARIANTS if v.interpreter == "pypy"]
    assert {v.loop for v in pypy_variants} == {"asyncio"}
    assert {v.http for v in pypy_variants} <= set(docker) & set(local_pypy)
    # The build-only pins are kept apart (installed first, removed before the runtime stage), the
    # same in the image and locally.
    assert set(docker_build) == {"cython", "setuptools"}
    assert not set(docker_build) & set(docker)
    assert docker_build == local_pypy_build
    # Everything the local PyPy installs, bar a backport anyio needs only before Python 3.11.
    assert set(local_pypy) - set(docker) == {"exceptiongroup"}


def pip_installs(path: Path) -> list[list[str]]:
    """The arguments after `pip install` of every install command in the build stage's RUNs."""
    import shlex

    installs = []
    for instruction in dockerfile(path).stage("build").all("RUN"):
        for command in instruction.rest.split("&&"):
            words = shlex.split(command)
            if words[1:4] == ["-m", "pip", "install"]:
                installs.append(words[4:])
    return installs


def test_pypy_image_builds_only_httptools_from_source_with_the_pinned_setuptools():
    """pip's own option parser reads the image's install commands: the build pins go in first,
    from wheels; then every package from a wheel except httptools (no PyPy wheel exists), which is
    built from source with that setuptools (--no-build-isolation), never pydantic-core (Rust)."""
    from pip._internal.commands import create_command

    installs = pip_installs(docker_check.DOCKERFILE_PYPY)
    (build, _), (runtime, _) = [create_command("install").parse_args(w) for w in installs]
    assert [Path(r).name for r in build.requirements] == ["requirements-docker-build.txt"]
    assert [Path(r).name for r in runtime.requirements] == ["requirements-docker.txt"]
    assert build.ignore_dependencies and runtime.ignore_dependencies  # --no-deps: exactly the files
    deployment = ROOT / "pypy-deployment"
    build_pins = docker_check.pins(deployment / "requirements-docker-build.txt")
    runtime_pins = docker_check.pins(deployment / "requirements-docker.txt")
    assert all(build.format_control.get_allowed_formats(n) == {"binary"} for n in build_pins)
    from_source = {
        name
        for name in runtime_pins
        if runtime.format_control.get_allowed_formats(name) != {"binary"}
    }
    assert from_source == {"httptools"}
    assert runtime.format_control.get_allowed_formats("httptools") == {"source"}
    assert "pydantic-core" in runtime_pins and "pydantic-core" not in from_source
    assert not runtime.build_isolation  # built with the setuptools the first command installed


def test_the_cpython_image_builds_nothing_from_source():
    from pip._internal.commands import create_command

    installs = pip_installs(docker_check.DOCKERFILE_CPYTHON)
    assert installs
    for words in installs:
        options, _ = create_command("install").parse_args(words)
        assert options.format_control.get_allowed_formats("any-package") == {"binary"}
        assert options.format_control.no_binary == set()


# --- .dockerignore --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".venv/cpython/bin/python",
        ".venv/pypy/lib/pypy3.9/site-packages/fastapi/__init__.py",
        "cython-optimized/build/temp-pypy/fib_cython.o",
        "cython-optimized/fib_cython.c",
        "cython-optimized/fib_cython.cpython-311-x86_64-linux-gnu.so",
        "cython-optimized/fib_cython.pypy39-pp73-x86_64-linux-gnu.so",
        "baseline/__pycache__/baseline_app.cpython-311.pyc",
        ".git/HEAD",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "benchmarks/results/latest.json",
    ],
)
def test_dockerignore_keeps_environments_build_output_and_caches_out(path: str):
    assert docker_check.is_ignored(path, docker_check.load_dockerignore())


def test_the_real_build_context_is_only_sources():
    context = docker_check.context_files()
    assert "serve.py" in context and "variants.py" in context
    assert "cython-optimized/fib_cython.pyx" in context
    leaked = [
        f
        for f in context
        if f.startswith((".venv/", ".git/", "benchmarks/", "cython-optimized/build/"))
        or f.endswith((".so", ".o", ".pyc", "fib_cython.c"))
        or "__pycache__" in f
    ]
    assert leaked == []


def test_dockerignore_matching_follows_docker_rules():
    rules = [
        docker_check.IgnoreRule(p, not p.startswith("!"), re.compile(docker_check.ignore_regex(r)))
        for p, r in [("*.so", "*.so"), ("**/*.c", "**/*.c"), ("!keep.c", "keep.c")]
    ]
    assert docker_check.is_ignored("a.so", rules)
    assert not docker_check.is_ignored("sub/a.so", rules)  # `*` does not cross folders
    assert docker_check.is_ignored("sub/deeper/a.c", rules)
    assert docker_check.is_ignored("a.c", rules)  # `**/` also matches no folder
    assert not docker_check.is_ignored("keep.c", rules)  # the last matching rule decides


# --- the compose file -----------------------------------------------------------------------------


def compose() -> dict:
    return docker_check.load_compose()


def resolved(value: object, **environ: str) -> str:
    return docker_check.interpolate(value, environ)


def memory_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", text.lower()).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_compose_has_one_service_per_variant_and_the_pypy_one_by_default():
    services = compose()["services"]
    assert sorted(services) == sorted(v.name for v in VARIANTS)
    assert "profiles" not in services["pypy"]  # `docker compose up` starts it
    for name, service in services.items():
        if name != "pypy":
            assert service["profiles"] == ["all"], name


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_compose_service_builds_the_variant_from_the_repository_root(variant):
    service = compose()["services"][variant.name]
    build = service["build"]
    assert (docker_check.DEPLOYMENT / build["context"]).resolve() == ROOT
    assert ROOT / build["dockerfile"] == INTERPRETER_OF[variant.interpreter]
    assert build["args"] == {"VARIANT": variant.name}
    assert variant.name in dockerfile(INTERPRETER_OF[variant.interpreter]).flavours()
    assert service["image"].endswith(f"/{variant.name}:local")


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_compose_ports_environment_restart_and_limits(variant):
    service = compose()["services"][variant.name]
    port = variant.default_port
    # Published on loopback only, on the port the harness expects (`--no-start`), which is the
    # port the image exposes and serve.py listens on (PORT is not set).
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    image = docker_check.image_config(dockerfile(INTERPRETER_OF[variant.interpreter]), variant.name)
    assert image.exposed == [str(port)]
    environment = service["environment"]
    assert not {"PORT", "HOST"} & set(environment)
    assert resolved(environment["FIB_MAX_N"]) == "35"
    assert resolved(environment["FIB_MAX_N"], FIB_MAX_N="30") == "30"
    assert service["restart"] in {"unless-stopped", "always", "on-failure"}
    limits = service["deploy"]["resources"]["limits"]
    # Inside a container os.sched_getaffinity sees every host core: WORKERS follows the CPU limit.
    for environ in ({}, {"WORKERS": "4"}):
        assert resolved(environment["WORKERS"], **environ) == resolved(limits["cpus"], **environ)
    assert resolved(environment["WORKERS"]) == "2"
    assert service.get("network_mode") != "host"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_compose_healthcheck_is_the_images_probe_with_a_warm_up_period(variant):
    service = compose()["services"][variant.name]
    check = service["healthcheck"]
    image = docker_check.image_config(dockerfile(INTERPRETER_OF[variant.interpreter]), variant.name)
    assert check["test"] == ["CMD", *image.healthcheck.command]
    start_period = docker_check.duration_seconds(check["start_period"])
    assert start_period == image.healthcheck.seconds("start-period")
    assert start_period >= PROBE_START_PERIOD_MIN[variant.interpreter]
    for option in ("interval", "timeout"):
        assert docker_check.duration_seconds(check[option]) == image.healthcheck.seconds(option)


def test_pypy_gets_the_longest_start_period_and_more_memory():
    services = compose()["services"]

    def start(name: str) -> float:
        return docker_check.duration_seconds(services[name]["healthcheck"]["start_period"])

    def memory(name: str) -> int:
        return memory_bytes(services[name]["deploy"]["resources"]["limits"]["memory"])

    assert min(start("pypy"), start("pypy-cython")) > max(start("baseline"), start("cython"))
    assert min(memory("pypy"), memory("pypy-cython")) > max(memory("baseline"), memory("cython"))


# The memory limit of each compose service is sized from the reference results: with WORKERS at
# its compose default, (WORKERS × the variant's peak PSS per worker during `make bench` + an
# allowance for the processes beside the workers) × a margin. The allowance covers uvicorn's
# supervisor and multiprocessing's resource tracker; test_emulated_image_serves_the_contract checks
# that the emulated images' really stay below it. The margin is for what one machine's run did not
# show: other request mixes, longer uptimes, the page cache a container is also charged for.
RESULTS_FILE = ROOT / "benchmarks" / "results" / "latest.json"
SUPERVISOR_ALLOWANCE_MIB = {"pypy": 256, "cpython": 64}
MEMORY_MARGIN = 1.25


def pypy_size_bytes(text: str) -> int:
    """A PYPY_GC_* size as PyPy reads it: a number, optionally KB, MB or GB (powers of 1024)."""
    number, unit = re.fullmatch(r"(\d+)([kmg]b)?", text.lower()).groups()
    return int(number) * {None: 1, "kb": 2**10, "mb": 2**20, "gb": 2**30}[unit]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_compose_memory_limit_covers_the_measured_peak(variant):
    results = load_results(RESULTS_FILE)
    peak_mib = results["variants"][variant.name]["memory"]["peak_pss_mib_per_worker"]
    assert peak_mib > 0
    service = compose()["services"][variant.name]
    workers = int(resolved(service["environment"]["WORKERS"]))
    allowance = SUPERVISOR_ALLOWANCE_MIB[variant.interpreter]
    needed_mib = (workers * peak_mib + allowance) * MEMORY_MARGIN
    limit = memory_bytes(service["deploy"]["resources"]["limits"]["memory"])
    assert limit >= needed_mib * 2**20, (
        f"{variant.name}: memory limit {limit / 2**20:.0f} MiB < ({workers} workers × "
        f"{peak_mib:.0f} MiB + {allowance} MiB) × {MEMORY_MARGIN} = {needed_mib:.0f} MiB"
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_images_run_with_the_gc_settings_of_variants_py(variant):
    """The images set exactly the GC variables variants.py gives the variant (serve.py applies
    them too; the image's ENV makes them visible, and overridable with `docker run -e`)."""
    settings = dict(variant.environment)
    image = docker_check.image_config(dockerfile(INTERPRETER_OF[variant.interpreter]), variant.name)
    assert {k: v for k, v in image.env.items() if k.startswith("PYPY_")} == settings
    if variant.interpreter == "pypy":
        assert {"PYPY_GC_NURSERY", "PYPY_GC_MAX"} <= set(settings)
        assert all(name.startswith("PYPY_GC_") for name in settings)
        # PYPY_GC_MAX is the last resort before the container's limit, not after it: the workers'
        # GC heaps at their cap must at least fit (each worker also holds memory outside its GC
        # heap: the interpreter, JIT code, C allocations).
        service = compose()["services"][variant.name]
        workers = int(resolved(service["environment"]["WORKERS"]))
        limit = memory_bytes(service["deploy"]["resources"]["limits"]["memory"])
        assert limit > workers * pypy_size_bytes(settings["PYPY_GC_MAX"])
    else:
        assert settings == {}
    # The compose file neither overrides nor adds any: the image's values are the ones that run.
    service = compose()["services"][variant.name]
    assert not [name for name in service["environment"] if name.startswith("PYPY_")]


def compose_cli() -> list[str]:
    command = docker_check.compose_command()
    assert command is not None, (
        "no compose CLI (`docker compose` or `docker-compose`) to validate the compose file: "
        "`make setup` installs Debian's docker-compose (scripts/ensure-system-packages.sh)"
    )
    return command


def compose_config(path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose_cli(), "-f", str(path), *options, "config", "--services"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_compose_cli_accepts_the_file():
    """`docker compose config` (or v1's docker-compose) validates against the compose schema; it
    needs no engine, only the CLI, which `make setup` installs."""
    for profile in ([], ["--profile", "all"]):
        result = compose_config(docker_check.COMPOSE_FILE, *profile)
        assert result.returncode == 0, result.stderr
        assert "pypy" in result.stdout.split()
    # (Which services a plain `up` starts is checked on the parsed file above: compose v1 lists
    # every service here whatever the profile.)
    assert set(result.stdout.split()) == {v.name for v in VARIANTS}


def test_compose_cli_rejects_a_broken_file(tmp_path: Path):
    """The validation above can fail: the same file with an option compose does not know."""
    import yaml

    broken = compose()
    broken["services"]["pypy"]["memory_limit"] = "2g"
    (tmp_path / "deployment").mkdir()
    path = tmp_path / "deployment" / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = compose_config(path)
    assert result.returncode != 0
    assert "memory_limit" in result.stderr


# --- docker_check.py, the command -----------------------------------------------------------------


def test_docker_check_without_an_engine_says_what_it_could_not_do(monkeypatch, capsys):
    commands = []
    monkeypatch.setattr(docker_check, "run", lambda command, **_: commands.append(command) or 0)
    monkeypatch.setattr(docker_check, "docker_engine_available", lambda: False)
    monkeypatch.setattr(docker_check, "compose_command", lambda: None)
    assert docker_check.main(["docker_check.py"]) == 0
    assert commands[0][1:] == [
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *docker_check.STATIC_TESTS,
    ]
    out = capsys.readouterr().out
    assert "not done: build the images and run them: there is no Docker engine here" in out
    assert "not done: validate with `docker compose config`" in out


def test_docker_check_with_an_engine_validates_and_builds(monkeypatch, capsys):
    commands = []
    monkeypatch.setattr(docker_check, "run", lambda command, **_: commands.append(command) or 0)
    monkeypatch.setattr(docker_check, "docker_engine_available", lambda: True)
    monkeypatch.setattr(docker_check, "compose_command", lambda: ["docker", "compose"])
    assert docker_check.main(["docker_check.py", "--emulate"]) == 0
    assert commands[0][-1] == "tests/test_docker.py"  # the emulation too
    compose_file = str(docker_check.COMPOSE_FILE)
    assert commands[1:] == [
        ["docker", "compose", "-f", compose_file, "--profile", "all", "config", "--quiet"],
        ["docker", "compose", "-f", compose_file, "--profile", "all", "build"],
    ]
    assert "not done" not in capsys.readouterr().out


def test_docker_check_fails_when_the_static_checks_fail(monkeypatch):
    monkeypatch.setattr(docker_check, "run", lambda command, **_: 1)
    assert docker_check.main(["docker_check.py"]) == 1


# --- the emulated images --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_services() -> dict:
    return compose()["services"]


@pytest.mark.parametrize("flavour", [v.name for v in VARIANTS])
def test_emulated_image_serves_the_contract(flavour: str, compose_services: dict):
    """The image's own steps, replayed with the local interpreter: venv, pinned install, the
    extension, the app files, the CMD as the image's USER, the HEALTHCHECK, then the contract."""
    emulate_image = importlib.import_module("emulate_image")
    variant = get_variant(flavour)
    result = emulate_image.emulate(flavour)
    expected_runtime = "PyPy 7.3" if variant.interpreter == "pypy" else "CPython 3.11"
    assert result.runtime.startswith(expected_runtime)
    expected_implementation = "cython-recursive" if "cython" in flavour else "python-recursive"
    assert result.implementation == expected_implementation
    assert result.exposed == [str(variant.default_port)]
    # What the image's CMD really started, read from its processes: the image's own interpreter
    # (the virtual environment's python, here a link to the local stand-in) listening where the
    # `docker run -e HOST=... -e PORT=...` settings say, with WORKERS worker processes.
    assert Path(result.server_command[0]).match("*/opt/venv/bin/python")
    image = docker_check.image_config(dockerfile(INTERPRETER_OF[variant.interpreter]), flavour)
    standin = emulate_image.local_interpreter(image.base_image).path
    assert result.server_executable == os.path.realpath(standin)
    assert result.listening == [("127.0.0.1", result.port)]
    assert result.worker_count == emulate_image.RUN_WORKERS
    # The event loop and HTTP parser in use: the CPython workers load uvloop and httptools (C
    # extensions); the PyPy workers load httptools (through cpyext) and no uvloop (asyncio instead).
    assert variant.http == "httptools"
    if variant.interpreter == "cpython":
        assert {"uvloop", "httptools"} <= result.extension_packages
    else:
        assert "httptools" in result.extension_packages
        assert "uvloop" not in result.extension_packages
    # Built from source in the image: httptools on PyPy (no PyPy wheel), nothing on CPython; every
    # other package, pydantic-core included, came as a built wheel. The build tools are gone.
    built_here = emulate_image.built_from_source(result.wheel_tags)
    assert built_here == ({"httptools"} if variant.interpreter == "pypy" else set())
    assert {"httptools", "pydantic-core"} <= set(result.wheel_tags)
    assert not {"cython", "setuptools"} & set(result.wheel_tags)
    assert result.app_extensions == ({"fib_cython"} if "cython" in flavour else set())
    assert result.access_log_lines == []  # requests were served, and not logged
    # Every worker runs with the GC settings variants.py gives the variant (none on CPython).
    assert result.worker_environments == [dict(variant.environment)] * result.worker_count
    # Only the system steps were skipped: the apt-get install and the user.
    skipped = sorted(line.split(": ", 1)[1].split()[0] for line in result.skipped)
    assert skipped == ["apt-get", "groupadd"]
    if variant.interpreter == "pypy":
        assert any("requirements.txt) in place of the PyPy 3.11 ones" in n for n in result.notes)
        if os.geteuid() == 0:
            assert result.ran_as_uid == 10001  # the image's USER
    # The compose memory limit leaves room over what the server used here with the same WORKERS,
    # and the processes beside the workers fit the allowance the limit was sized with.
    limit = memory_bytes(compose_services[flavour]["deploy"]["resources"]["limits"]["memory"])
    assert result.memory_pss_mb * 2**20 * 1.5 < limit
    assert result.supervisor_pss_mb < SUPERVISOR_ALLOWANCE_MIB[variant.interpreter]
