"""Builds and starts an image's flavour with a local interpreter, where no Docker engine exists.

    .venv/cpython/bin/python pypy-deployment/emulate_image.py [VARIANT ...] [--keep]

(default: pypy pypy-cython; baseline and cython replay Dockerfile.cpython the same way.)

replay_build.py replays the image's stages into folders under a temporary directory. This then
starts the server with the image's CMD (the same command line; HOST=127.0.0.1, PORT a free port and
WORKERS=2, as `docker run -e` would give them) as the image's USER where it can, waits for /health,
runs the image's own HEALTHCHECK command (which must fail before the server runs and pass once it
answers), checks the contract with the harness's own check (contract_check.py) and records what the
server's processes really are: their command line, listening address, workers, environment, the C
extensions they loaded, their memory, where the image's python imports the app from, and the wheel
tags of what the image's environment holds (which packages were built from source). It stops the
whole process group and removes the folders: nothing is written inside the repository.
`emulation_problems` says what the result must show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from baseline.fib_settings import read_fib_max_n
from compose_checks import SUPERVISOR_ALLOWANCE_MIB, service_memory_limit
from contract_check import failure_summary, verify
from docker_files import DOCKERFILES, load_compose
from dockerfile_checks import BUILT_FROM_SOURCE, unmet
from processes import (
    LOOPBACK,
    ProcessError,
    free_port,
    run_group,
    start_group,
    stop_group,
    wait_for_health,
)
from replay_build import BuildReplay, EmulationError, StageState, as_user
from server_processes import ServerProcesses, read_server_processes
from variants import Variant, get_variant, variant_names

RUN_WORKERS = 2
# Where the image's python finds each module: the import path's answer, without importing them.
IMPORT_PROBE = (
    "import importlib.util, json, sys; "
    "print(json.dumps({name: importlib.util.find_spec(name).origin for name in sys.argv[1:]}))"
)


@dataclass
class EmulationResult:
    variant: str
    interpreter: str  # the local interpreter that played the image's
    image_user: str | None  # the image's USER
    port: int
    workers: int  # WORKERS, as `docker run -e` gave it
    health: dict  # GET /health's answer: the runtime and implementation
    verification: dict  # contract_check.verify's answer
    app_dir: str  # the staged /app
    import_origins: dict[str, str]  # module → the file the image's python imports it from
    processes: ServerProcesses
    # The image's environment (/opt/venv): each installed distribution's wheel tags, as its
    # dist-info records them. A platform tag `linux_<arch>` (not manylinux) marks a wheel pip built
    # from source during the build; `any` and manylinux ones came built from the index.
    wheel_tags: dict[str, list[str]]
    access_log_lines: list[str]  # request lines in the server's output (none: --no-access-log)
    bytecode_caches: list[str]  # __pycache__ folders the server wrote under /app (none expected)
    seconds_to_healthy: float
    build_seconds: float
    skipped: list[str]  # the system steps the replay left out
    notes: list[str]


def emulate(
    name: str, *, workers: int = RUN_WORKERS, keep: bool = False, log: Callable[[str], None] = print
) -> EmulationResult:
    """Build the variant's image the way its Dockerfile says, start it, check it, stop it."""
    variant = get_variant(name)
    tmp = Path(tempfile.mkdtemp(prefix=f"emulate-{variant.name}-"))
    tmp.chmod(0o755)  # the image's USER must reach the stage folders inside
    try:
        replay = BuildReplay(variant.name, DOCKERFILES[variant.interpreter], tmp, log)
        started = time.monotonic()
        state = replay.build()
        build_seconds = time.monotonic() - started
        return serve_and_inspect(replay, state, variant, workers, build_seconds)
    finally:
        if keep:
            log(f"[{variant.name}] kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def serve_and_inspect(
    replay: BuildReplay, state: StageState, variant: Variant, workers: int, build_seconds: float
) -> EmulationResult:
    """Start the image's CMD, wait for its HEALTHCHECK, verify the contract, read the processes,
    stop them all."""
    if state.cmd is None or state.healthcheck is None:
        raise EmulationError("the final stage has no CMD or no HEALTHCHECK")
    port = free_port()
    # As `docker run -e HOST=127.0.0.1 -e PORT=... -e WORKERS=...` would: loopback, a free port.
    env = {**state.env, "HOST": LOOPBACK, "PORT": str(port), "WORKERS": str(workers)}
    if state.user is not None:
        env["HOME"] = "/nonexistent"  # the image's user has no home
    user = runtime_user(state)
    if state.user is not None and not user:
        replay.notes.append(f"USER {state.user} not replayed: ran as uid {os.geteuid()}")
    if run_probe(state, env, user) == 0:
        raise EmulationError(f"the health probe passes before the server runs (port {port})")

    app_dir = state.host(state.workdir)
    server_log = replay.tmp / "logs" / f"{variant.name}-server.log"
    server_log.parent.mkdir(exist_ok=True)
    replay.log(f"[{variant.name}] CMD {' '.join(state.cmd)} (PORT={port}, WORKERS={workers})")
    with server_log.open("w") as output:
        command = [state.map_text(word) for word in state.cmd]
        server = start_group(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=app_dir, env=env, **user
        )
    try:
        started = time.monotonic()
        health = wait_until_healthy(state, env, user, server, server_log)
        seconds_to_healthy = time.monotonic() - started
        replay.log(f"[{variant.name}] healthy after {seconds_to_healthy:.1f} s; the contract next")
        verification = verify(f"http://{LOOPBACK}:{port}", read_fib_max_n(env))
        processes = read_server_processes(server.pid, str(app_dir))
        origins = import_origins(state, env, user, variant)
    finally:
        left = stop_group(server, grace=15.0)
    if left:
        raise EmulationError(f"process group {server.pid} left processes behind: {left}")
    output_lines = server_log.read_text(errors="replace").splitlines()
    return EmulationResult(
        variant=variant.name,
        interpreter=state.interpreter.path,
        image_user=state.user,
        port=port,
        workers=workers,
        health=health,
        verification=verification,
        app_dir=str(app_dir),
        import_origins=origins,
        processes=processes,
        wheel_tags=installed_wheel_tags(state.host("/opt/venv")),
        access_log_lines=[line for line in output_lines if '"GET /' in line],
        bytecode_caches=[str(path) for path in app_dir.rglob("__pycache__")],
        seconds_to_healthy=seconds_to_healthy,
        build_seconds=build_seconds,
        skipped=replay.skipped,
        notes=replay.notes,
    )


def wait_until_healthy(
    state: StageState, env: dict, user: dict, server: subprocess.Popen, server_log: Path
) -> dict:
    """GET /health's answer once the server gives one, within the HEALTHCHECK's start period and
    one interval; then the image's own probe must pass too."""
    assert state.healthcheck is not None
    timeout = state.healthcheck.seconds("start-period") + state.healthcheck.seconds("interval")
    try:
        health = wait_for_health(f"http://{LOOPBACK}:{env['PORT']}", timeout, server)
    except ProcessError as error:
        raise EmulationError(f"{error}:\n{server_log.read_text()[-3000:]}") from None
    if run_probe(state, env, user) != 0:
        raise EmulationError("the image's HEALTHCHECK fails while /health answers")
    return health


def runtime_user(state: StageState) -> dict:
    """Popen's user and group for the image's USER, where it can start the interpreter; else {}
    (run as this process's user)."""
    user = as_user(state.user)
    if not user:
        return {}
    try:
        status = run_group([state.interpreter.path, "-c", "pass"], timeout=60, **user).returncode
    except (OSError, ProcessError):
        status = -1  # e.g. an interpreter under /root, which other users cannot reach
    return user if status == 0 else {}


def run_probe(state: StageState, env: Mapping[str, str], user: dict) -> int:
    """The exit status of the image's HEALTHCHECK command (-1: it timed out)."""
    assert state.healthcheck is not None
    command = [state.map_text(word) for word in state.healthcheck.command]
    cwd = state.host(state.workdir)
    try:
        timeout = state.healthcheck.seconds("timeout")
        return run_group(command, timeout=timeout, cwd=cwd, env=dict(env), **user).returncode
    except ProcessError:
        return -1


def import_origins(state: StageState, env: Mapping[str, str], user: dict, variant: Variant) -> dict:
    """{module: file} for the modules the server imports, as the image's python finds them."""
    modules = ["variants", "baseline.fib_settings", variant.app.split(":")[0]]
    command = ["python", "-c", IMPORT_PROBE, *modules]
    cwd = state.host(state.workdir)
    result = run_group(command, timeout=60, cwd=cwd, env=dict(env), **user)
    if result.returncode != 0:
        raise EmulationError(f"the image's python cannot find {modules}: {result.stderr}")
    return json.loads(result.stdout)


def installed_wheel_tags(venv: Path) -> dict[str, list[str]]:
    """{normalized name: the `Tag:` lines of its dist-info WHEEL file} for a virtual environment."""
    from packaging.utils import canonicalize_name

    tags = {}
    for wheel in sorted(venv.glob("lib/*/site-packages/*.dist-info/WHEEL")):
        name = canonicalize_name(wheel.parent.name.split("-")[0])
        lines = wheel.read_text().splitlines()
        tags[name] = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]
    return tags


def built_from_source(wheel_tags: Mapping[str, list[str]]) -> set[str]:
    """The distributions whose wheel pip built here: a plain `linux_<arch>` platform tag."""
    return {
        name
        for name, tags in wheel_tags.items()
        if any(tag.rsplit("-", 1)[-1].startswith("linux_") for tag in tags)
    }


def emulation_problems(result: EmulationResult, variant: Variant, compose: dict) -> list[str]:
    """What the replayed image must show: the contract, served by the image's own interpreter
    from the staged app as its USER, with the variant's loop, parser and GC settings, the
    packages built where they should be, and memory under the compose limit."""
    server = result.processes
    cython = variant.app.startswith("cython_app")
    c_extensions = {variant.http} | ({variant.loop} if variant.loop != "asyncio" else set())
    runtime = "PyPy 7.3" if variant.interpreter == "pypy" else "CPython 3.11"
    implementation = "cython-recursive" if cython else "python-recursive"
    uid = int((result.image_user or "0").partition(":")[0])
    # Debian's PyPy is reachable by any user, so as root its replay runs as the image's USER.
    user_replayed = variant.interpreter == "pypy" and os.geteuid() == 0
    limit = service_memory_limit(compose["services"][variant.name])
    allowance = SUPERVISOR_ALLOWANCE_MIB[variant.interpreter]
    origins = result.import_origins.values()
    return unmet(
        (result.verification["passed"], failure_summary(result.verification)),
        (result.health.get("runtime", "").startswith(runtime), f"/health: {result.health}"),
        (result.health.get("implementation") == implementation, f"/health: {result.health}"),
        (
            all(path.startswith(result.app_dir + "/") for path in origins),
            f"the app is not imported from the staged {result.app_dir}: {result.import_origins}",
        ),
        (Path(server.command[0]).match("*/opt/venv/bin/python"), f"ran {server.command}"),
        (server.executable == os.path.realpath(result.interpreter), f"ran {server.executable}"),
        (server.listening == [(LOOPBACK, result.port)], f"listening on {server.listening}"),
        (server.worker_count == result.workers, f"{server.worker_count} workers"),
        (len(server.uids) == 1, f"processes run as several users: {server.uids}"),
        (not user_replayed or server.uids == {uid}, f"ran as {server.uids}, not USER {uid}"),
        (c_extensions <= server.extension_packages, f"loaded {server.extension_packages}"),
        ("uvloop" in c_extensions or "uvloop" not in server.extension_packages, "uvloop loaded"),
        (server.app_extensions == ({"fib_cython"} if cython else set()), "fib_cython: wrong"),
        (
            server.worker_environments == [dict(variant.environment)] * server.worker_count,
            f"worker environments {server.worker_environments}",
        ),
        (
            built_from_source(result.wheel_tags) == BUILT_FROM_SOURCE[variant.interpreter],
            f"built from source: {built_from_source(result.wheel_tags)}",
        ),
        ({"httptools", "pydantic-core"} <= set(result.wheel_tags), "httptools or pydantic missing"),
        (not {"cython", "setuptools"} & set(result.wheel_tags), "build tools left installed"),
        (result.access_log_lines == [], f"requests logged: {result.access_log_lines[:3]}"),
        (result.bytecode_caches == [], f"bytecode written: {result.bytecode_caches}"),
        (
            sorted(line.split(": ", 1)[1].split()[0] for line in result.skipped)
            == ["apt-get", "groupadd"],
            f"skipped {result.skipped}",
        ),
        # The compose limit leaves room over what the server used here with the same WORKERS.
        (server.pss_mb * 2**20 * 1.5 < limit, f"{server.pss_mb:.0f} MB PSS: near the limit"),
        (server.supervisor_pss_mb < allowance, f"supervisor {server.supervisor_pss_mb:.0f} MB"),
    )


def describe(result: EmulationResult) -> list[str]:
    """What ran, in a few lines."""
    server = result.processes
    built_here = sorted(built_from_source(result.wheel_tags)) or ["nothing"]
    return [
        f"{result.health['runtime']}, {result.health['implementation']}; built in "
        f"{result.build_seconds:.1f} s, healthy {result.seconds_to_healthy:.1f} s after start",
        f"running: {' '.join(server.command[1:])}",
        f"uid {sorted(server.uids)}; {server.worker_count} workers; listening on "
        f"{server.listening}; {server.pss_mb:.0f} MB PSS",
        f"built from source in the build stage: {', '.join(built_here)}",
        *(f"skipped system step {line}" for line in result.skipped),
        *(f"note: {note}" for note in result.notes),
    ]


def emulate_and_check(name: str, compose: dict, keep: bool = False) -> list[str]:
    """Emulate the variant's image, print what ran and return the problems (a replay or start
    that fails is one)."""
    try:
        result = emulate(name, keep=keep)
    except (EmulationError, ProcessError) as error:
        return [f"{name}: {error}"]
    print(f"emulate_image: {name}:")
    for line in describe(result):
        print(f"  {line}")
    return [
        f"{name}: {problem}" for problem in emulation_problems(result, get_variant(name), compose)
    ]


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    names = [a for a in argv[1:] if a != "--keep"] or ["pypy", "pypy-cython"]
    unknown = sorted(set(names) - set(variant_names()))
    if unknown:
        print(
            f"usage: emulate_image.py [VARIANT ...] [--keep]; unknown: {unknown}", file=sys.stderr
        )
        return 2
    compose = load_compose()
    problems = [problem for name in names for problem in emulate_and_check(name, compose, keep)]
    for problem in problems:
        print(f"emulate_image: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
