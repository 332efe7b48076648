"""Checks the Docker deployment, with or without a Docker engine (what `make docker-check` runs):

    .venv/cpython/bin/python pypy-deployment/docker_check.py [--emulate]

It runs every static check of dockerfile_checks.py and compose_checks.py on the Dockerfiles, the
compose file, .dockerignore and the requirements files, prints the problems they find, and says
plainly what it could not do. Where a compose CLI is installed it validates the compose file; where
`docker info` succeeds it also builds every image of the stack. `--emulate` adds the replay of each
image's build and start with the local interpreters (emulate_image.py), which `make test` runs
through tests/test_docker.py. The tests run the same checks (static_checks below).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from compose_checks import (
    build_context_problems,
    compose_config_problems,
    ignore_rule_problems,
    load_reference_results,
    memory_limit_problems,
    service_problems,
    services_problems,
)
from docker_files import (
    COMPOSE_FILE,
    DEPLOYMENT,
    DOCKERFILES,
    Dockerfile,
    image_config,
    load_compose,
)
from dockerfile_checks import (
    DOCKERFILE_CHECKS,
    IMAGE_CHECKS,
    copy_source_problems,
    pin_agreement_problems,
    unpinned_problems,
    variants_built_by,
)
from dockerignore import context_files, load_dockerignore
from emulate_image import emulate_and_check
from processes import ProcessError, run_group, start_group, stop_group
from variants import VARIANTS

USAGE = "usage: python pypy-deployment/docker_check.py [--emulate]"


@dataclass(frozen=True)
class Check:
    name: str  # which file, which flavour, which check
    problems: Callable[[], list[str]]


def bind(subject: str, check: Callable[..., list[str]], *args: object) -> Check:
    return Check(f"{subject}: {check.__name__}", partial(check, *args))


def static_checks() -> list[Check]:
    """Every static check, bound to the file (and flavour) it checks."""
    context = set(context_files())
    compose = load_compose()
    results = load_reference_results()
    checks = [
        bind(".dockerignore", ignore_rule_problems, load_dockerignore()),
        bind("build context", build_context_problems, context),
        bind("requirements", pin_agreement_problems),
        bind("docker-compose.yml", services_problems, compose),
    ]
    for interpreter, path in DOCKERFILES.items():
        dockerfile = Dockerfile.load(path)
        checks += [bind(path.name, check, dockerfile, interpreter) for check in DOCKERFILE_CHECKS]
        checks.append(bind(path.name, copy_source_problems, dockerfile, context))
        checks.append(bind(path.name, unpinned_problems, dockerfile))
        for variant in variants_built_by(interpreter):
            image = image_config(dockerfile, variant.name)
            flavour = f"{path.name} [{variant.name}]"
            checks += [bind(flavour, check, image, variant) for check in IMAGE_CHECKS]
            service = f"docker-compose.yml [{variant.name}]"
            checks.append(bind(service, service_problems, compose, variant, image))
            checks.append(bind(service, memory_limit_problems, compose, variant, results))
    return checks


def run_static_checks() -> int:
    """Run every static check and print what it finds; the number of checks that found problems."""
    failed = 0
    for check in static_checks():
        try:
            problems = check.problems()
        except Exception as error:  # a file the check cannot read is a problem of that file
            problems = [f"the check itself failed: {error!r}"]
        failed += bool(problems)
        for problem in problems:
            print(f"docker-check: {check.name}: {problem}")
    return failed


def compose_command() -> list[str] | None:
    """`docker compose` (the v2 plugin), else `docker-compose` (v1), else None."""
    if shutil.which("docker") and succeeds(["docker", "compose", "version"]):
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def docker_engine_available() -> bool:
    return shutil.which("docker") is not None and succeeds(["docker", "info"])


def succeeds(command: list[str]) -> bool:
    try:
        return run_group(command, timeout=60).returncode == 0
    except ProcessError:
        return False


def run_in_sight(command: list[str]) -> int:
    """Run `command` with its output on this terminal (a build's progress), to the end."""
    print("$ " + " ".join(command), flush=True)
    process = start_group(command, cwd=DEPLOYMENT)
    try:
        return process.wait()
    except BaseException:  # Ctrl-C: stop the build and all it started
        stop_group(process)
        raise


def main(argv: list[str]) -> int:
    if argv[1:] not in ([], ["--emulate"]):
        print(USAGE, file=sys.stderr)
        return 2
    print("docker-check: static checks of the Dockerfiles, compose file, .dockerignore and pins")
    failed = run_static_checks()
    if failed:
        print(f"docker-check: FAILED ({failed} checks found problems, above)")
        return 1
    not_done = []
    if argv[1:] == ["--emulate"]:
        compose = load_compose()
        problems = [p for variant in VARIANTS for p in emulate_and_check(variant.name, compose)]
        for problem in problems:
            print(f"docker-check: emulated image: {problem}")
        if problems:
            return 1
    else:
        not_done.append(
            "replay the images' build and start steps with the local interpreters "
            "(`make test` does, through tests/test_docker.py; or add --emulate)"
        )
    compose_cli = compose_command()
    if compose_cli is None:
        not_done.append("validate with `docker compose config` (no compose CLI here)")
    else:  # config is client-side: it validates the file against the compose schema
        for problem in compose_config_problems(compose_cli, COMPOSE_FILE):
            print(f"docker-check: {problem}")
            return 1
    if not docker_engine_available():
        not_done.append("build the images and run them: there is no Docker engine (`docker info`)")
    elif compose_cli is None:
        not_done.append("build the images (a Docker engine, but no compose CLI)")
    elif run_in_sight([*compose_cli, "-f", str(COMPOSE_FILE), "--profile", "all", "build"]) != 0:
        return 1
    print("docker-check: passed.")
    for item in not_done:
        print(f"docker-check: not done: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
