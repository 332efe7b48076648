"""Replays an image's build and start steps with a local interpreter, where no Docker engine exists.

    .venv/cpython/bin/python pypy-deployment/emulate_image.py [VARIANT ...] [--keep]

(default: pypy pypy-cython; baseline and cython replay Dockerfile.cpython the same way.)

Images can be neither built nor run here. This does the next best thing: it reads the Dockerfile
with the same parser as the static checks (docker_check.Dockerfile) and carries out the stages the
chosen flavour needs, instruction by instruction, each stage in a temporary folder that plays its
file system (the container paths /opt, /src, /app and /tmp are mapped into it):

- FROM pypy:3.11-... is played by Debian's PyPy (/usr/bin/pypy3: PyPy 7.3.11, Python 3.9) as the
  `python` first on PATH (FROM python:3.11... by the local CPython 3.11); FROM a stage continues
  that stage's folder.
- RUN runs the step's own shell command with `sh -c` and the stage's ENV and ARG values. System
  steps (apt-get, groupadd, useradd) are skipped and listed: the compiler is the one `make setup`
  installed, and the user is played by running the server and its probe as the image's USER (uid
  10001, where the interpreter is reachable by it). pip's own cache plays `--mount=type=cache`.
- COPY copies from the repository (honouring .dockerignore) or from another stage's folder. One
  stand-in: the local PyPy is 3.9, so pypy-deployment/requirements-build.txt and requirements.txt
  (the PyPy 3.9 pins) are copied where the image copies requirements-docker-build.txt and
  requirements-docker.txt (the PyPy 3.11 pins): the same requirements logic (the build pins
  first, then --only-binary except httptools, built from source with --no-build-isolation,
  --no-deps, pip check, then Cython and setuptools removed) with the pins this interpreter takes.
- ENV, ARG, WORKDIR, USER, EXPOSE, HEALTHCHECK and CMD are applied as Docker applies them.

Then it starts the server with the image's CMD (the same command line; HOST=127.0.0.1, PORT a free
port and WORKERS=2 given as `docker run -e` would), runs the HEALTHCHECK's own command until it
passes (and checks that it fails while no server runs), checks the contract over HTTP, records
what its processes really are (command line, listening address, workers, their environment, the C
extensions they loaded, their memory) and the wheel tags of what the image's environment holds
(which packages were built from source), and stops everything by its process group. Nothing is
written inside the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from docker_check import (
    DOCKERFILES,
    ROOT,
    Dockerfile,
    Healthcheck,
    Instruction,
    Stage,
    env_values,
    healthcheck,
    is_ignored,
    load_dockerignore,
    parse_arg,
    substitute,
)

sys.path.insert(0, str(ROOT))
from processes import free_port, stop_group
from variants import get_variant

# Container paths the Dockerfiles use, played by folders under each stage's root.
MAPPED_ROOTS = ("opt", "src", "app", "tmp")
_CONTAINER_PATH = re.compile(r"(?<![\w.$}/-])/(?:" + "|".join(MAPPED_ROOTS) + r")(?=/|\b)")
# RUN steps that change the system rather than build the app: skipped, and reported.
SYSTEM_COMMANDS = ("apt-get", "groupadd", "useradd")
# Docker's default PATH in Debian images; the stand-in interpreter's folder goes in front.
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the host lends every step: pip's configuration (its index and cache), TLS certificates.
_HOST_ENV = re.compile(r"PIP_.*|SSL_CERT_.*|REQUESTS_CA_BUNDLE|HOME|LANG|LC_.*")
RUN_WORKERS = 2


class EmulationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Interpreter:
    """The local interpreter that plays an image's `python`, and the files it needs instead."""

    path: str
    standins: dict[str, str]  # context path the image copies → context path copied instead
    note: str


def local_interpreter(image: str) -> Interpreter:
    if image.startswith("pypy:"):
        pypy = shutil.which("pypy3") or "/usr/bin/pypy3"
        return Interpreter(
            pypy,
            {
                "pypy-deployment/requirements-docker-build.txt": (
                    "pypy-deployment/requirements-build.txt"
                ),
                "pypy-deployment/requirements-docker.txt": "pypy-deployment/requirements.txt",
            },
            f"{image} is played by the local PyPy ({pypy}, Python 3.9), with the PyPy 3.9 pins "
            "(pypy-deployment/requirements-build.txt and requirements.txt) in place of the "
            "PyPy 3.11 ones",
        )
    if image.startswith("python:"):
        cpython = getattr(sys, "_base_executable", sys.executable)
        return Interpreter(cpython, {}, f"{image} is played by the local CPython ({cpython})")
    raise EmulationError(f"no local interpreter plays {image}")


@dataclass
class StageState:
    """One stage's file system (a folder), configuration and build arguments."""

    root: Path
    env: dict[str, str]
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str | None = None
    exposed: list[str] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    cmd: list[str] | None = None
    interpreter: Interpreter | None = None

    def host(self, container_path: str) -> Path:
        """Where a container path lives in this stage's folder."""
        if not container_path.startswith("/"):
            container_path = os.path.join(self.workdir, container_path)
        top = container_path.strip("/").split("/")[0]
        if top and top not in MAPPED_ROOTS:
            raise EmulationError(f"{container_path} is outside the emulated roots {MAPPED_ROOTS}")
        return self.root / container_path.lstrip("/")

    def map_text(self, text: str) -> str:
        """A command line with its container paths pointed into this stage's folder."""
        return _CONTAINER_PATH.sub(lambda m: str(self.root) + m.group(0), text)


@dataclass
class Emulation:
    variant: str
    dockerfile: Path
    tmp: Path
    log: Callable[[str], None] = print
    states: dict[int, StageState] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = Dockerfile.load(self.dockerfile)
        self.build_args = self.model.build_args({"VARIANT": self.variant})
        self.ignore_rules = load_dockerignore()

    # -- building ----------------------------------------------------------------------------------

    def build(self, target: Stage | None = None) -> StageState:
        """The state after the last instruction of `target` (default: the final stage)."""
        target = target or self.model.stages[-1]
        if target.index in self.states:
            return self.states[target.index]
        chain = self.model.chain(self.build_args, target)
        image = self.model.base_image(self.build_args, target)
        state = self.base_state(image, chain[0].name or f"stage-{chain[0].index}")
        for stage in chain:
            self.log(f"[{self.variant}] stage {stage.name or '(final)'} (line {stage.from_line})")
            for instruction in stage.instructions:
                self.apply(state, instruction)
            self.states[stage.index] = state
        return state

    def base_state(self, image: str, name: str) -> StageState:
        interpreter = local_interpreter(image)
        if interpreter.note not in self.notes:
            self.notes.append(interpreter.note)
        bin_dir = self.tmp / "image-bin" / re.sub(r"\W", "-", image)
        bin_dir.mkdir(parents=True, exist_ok=True)
        for alias in ("python", "python3", "pypy3" if image.startswith("pypy") else "python3.11"):
            link = bin_dir / alias
            if not link.exists():
                link.symlink_to(interpreter.path)
        root = self.tmp / "stages" / name
        root.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if _HOST_ENV.fullmatch(k)}
        env["PATH"] = f"{bin_dir}:{DEBIAN_PATH}"
        return StageState(root=root, env=env, interpreter=interpreter)

    def apply(self, state: StageState, instruction: Instruction) -> None:
        handler = getattr(self, f"do_{instruction.name.lower()}", None)
        if handler is None:
            raise EmulationError(f"{instruction}: not supported by the emulation")
        handler(state, instruction)

    def do_arg(self, state: StageState, instruction: Instruction) -> None:
        for key, default in parse_arg(instruction.value).items():
            state.args[key] = self.build_args.get(key, default)

    def do_env(self, state: StageState, instruction: Instruction) -> None:
        mapped = Instruction(instruction.name, state.map_text(instruction.value), instruction.line)
        state.env.update(env_values(mapped, {**state.args, **state.env}))

    def do_workdir(self, state: StageState, instruction: Instruction) -> None:
        path = substitute(instruction.value.strip(), {**state.args, **state.env})
        state.workdir = os.path.normpath(os.path.join(state.workdir, path))
        state.host(state.workdir).mkdir(parents=True, exist_ok=True)

    def do_user(self, state: StageState, instruction: Instruction) -> None:
        state.user = instruction.value.strip()

    def do_expose(self, state: StageState, instruction: Instruction) -> None:
        state.exposed.extend(instruction.words({**state.args, **state.env}))

    def do_healthcheck(self, state: StageState, instruction: Instruction) -> None:
        state.healthcheck = healthcheck([instruction])

    def do_cmd(self, state: StageState, instruction: Instruction) -> None:
        if instruction.rest.startswith("["):
            state.cmd = json.loads(instruction.rest)
        else:
            state.cmd = ["/bin/sh", "-c", instruction.rest]

    def do_label(self, state: StageState, instruction: Instruction) -> None:
        pass

    def do_run(self, state: StageState, instruction: Instruction) -> None:
        for flag, value in instruction.flags.items():
            if flag == "mount" and value.startswith("type=cache"):
                continue  # pip's own cache on this machine plays the cache mount
            raise EmulationError(f"{instruction}: --{flag} is not supported by the emulation")
        command = instruction.rest
        first = command.split()[0]
        if first in SYSTEM_COMMANDS:
            self.skipped.append(f"line {instruction.line}: {' '.join(command.split())[:100]}")
            self.log(f"[{self.variant}]   skip (system step) line {instruction.line}: {first} ...")
            return
        cwd = state.host(state.workdir)
        cwd.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        log_file = self.tmp / "logs" / f"{self.variant}-line{instruction.line}.log"
        log_file.parent.mkdir(exist_ok=True)
        with log_file.open("w") as output:
            result = subprocess.run(
                ["sh", "-c", state.map_text(command)],
                cwd=cwd,
                env={**state.args, **state.env},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=600,
                check=False,
                **as_user(state),
            )
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            tail = log_file.read_text()[-3000:]
            raise EmulationError(f"{instruction}\nfailed ({result.returncode}):\n{tail}")
        self.log(f"[{self.variant}]   RUN line {instruction.line} ok in {elapsed:.1f} s")

    def do_copy(self, state: StageState, instruction: Instruction) -> None:
        flags = instruction.flags
        if set(flags) - {"from"}:
            raise EmulationError(f"{instruction}: only --from is supported by the emulation")
        words = instruction.words({**state.args, **state.env})
        sources, destination = words[:-1], words[-1]
        into_folder = destination.endswith("/") or len(sources) > 1
        target = state.host(destination)
        for source in sources:
            if "from" in flags:
                origin = self.build(self.stage_named(flags["from"]))
                matches = sorted(origin.root.glob(source.lstrip("/"))) if "*" in source else []
                paths = matches or [origin.host(source)]
                context = None
            else:
                standin = state.interpreter.standins.get(source) if state.interpreter else None
                if standin:
                    self.log(f"[{self.variant}]   COPY {source}: {standin} stands in for it")
                paths = [ROOT / (standin or source)]
                context = ROOT
            for path in paths:
                if not path.exists():
                    raise EmulationError(f"{instruction}: {source} does not exist")
                if context is not None and is_ignored(
                    path.relative_to(context).as_posix(), self.ignore_rules
                ):
                    raise EmulationError(f"{instruction}: .dockerignore leaves {source} out")
                if path.is_dir():
                    copy_tree(path, target, context, self.ignore_rules)
                elif into_folder:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / Path(source).name)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)

    def stage_named(self, name: str) -> Stage:
        stage = self.model.stage(name)
        if stage is None:
            raise EmulationError(f"COPY --from={name}: no such stage")
        return stage


def copy_tree(source: Path, target: Path, context: Path | None, rules: list) -> None:
    """COPY of a folder: its contents (not the folder itself), less what .dockerignore omits."""
    for path in sorted(source.rglob("*")):
        if context is not None and is_ignored(path.relative_to(context).as_posix(), rules):
            continue
        destination = target / path.relative_to(source)
        if path.is_symlink() or path.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                destination.symlink_to(os.readlink(path))
            else:
                shutil.copy2(path, destination)
        elif path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)


def as_user(state: StageState) -> dict:
    """Popen's user/group for the stage's USER, where this process may switch (as root)."""
    if state.user is None or os.geteuid() != 0:
        return {}
    user, _, group = state.user.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise EmulationError(f"USER {state.user}: the emulation needs numeric ids")
    return {"user": int(user), "group": int(group or user), "extra_groups": []}


# --- running --------------------------------------------------------------------------------------


@dataclass
class EmulationResult:
    variant: str
    dockerfile: str
    runtime: str
    implementation: str
    port: int
    exposed: list[str]
    # What the running server really is, read from its processes (not recomputed from variants.py):
    server_command: list[str]  # the process group leader's command line
    server_executable: str  # the interpreter it runs, symlinks resolved
    listening: list[tuple[str, int]]  # the TCP addresses its processes listen on
    worker_count: int  # uvicorn's spawned worker processes
    worker_environments: list[dict[str, str]]  # each worker's PYPY_* environment variables
    extension_packages: set[str]  # installed packages whose C extensions the workers mapped
    app_extensions: set[str]  # the app's own compiled modules the workers mapped
    # The image's environment (/opt/venv): each installed distribution's wheel tags, as its
    # dist-info records them. A platform tag `linux_<arch>` (not manylinux) marks a wheel pip built
    # from source during the build; `any` and manylinux ones came built from the index.
    wheel_tags: dict[str, list[str]]
    access_log_lines: list[str]  # request lines in the server's output (none: --no-access-log)
    ran_as_uid: int
    seconds_to_healthy: float
    memory_uss_mb: float
    memory_pss_mb: float
    worker_pss_mb: list[float]
    supervisor_pss_mb: float  # every process of the group that is not a worker
    skipped: list[str]
    notes: list[str]
    build_seconds: float


def http_get(url: str, timeout: float = 30) -> tuple[int, dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def process_group(argv: list[str], log_path: Path, **popen) -> Iterator[subprocess.Popen]:
    """Start `argv` in its own process group; on leaving, stop the whole group (TERM, then KILL)."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen,
        )
    try:
        yield process
    finally:
        stop_and_check(process)


def stop_and_check(process: subprocess.Popen) -> None:
    left = stop_group(process, grace=15.0)
    if left:
        raise EmulationError(f"process group {process.pid} left processes behind: {left}")


def run_probe(state: StageState, env: Mapping[str, str], user: dict) -> int:
    check = state.healthcheck
    assert check is not None
    command = [state.map_text(word) for word in check.command]
    try:
        return subprocess.run(
            command,
            cwd=state.host(state.workdir),
            env=dict(env),
            capture_output=True,
            timeout=check.seconds("timeout"),
            check=False,
            **user,
        ).returncode
    except subprocess.TimeoutExpired:
        return -1


def runtime_user(state: StageState) -> dict:
    """Run as the image's USER where possible: it must be able to start the interpreter."""
    user = as_user(state)
    if user:
        try:
            subprocess.run([state.interpreter.path, "-c", "pass"], check=True, **user)
        except (OSError, subprocess.CalledProcessError):
            return {}  # e.g. an interpreter under /root, which other users cannot reach
    return user


def emulate(
    variant: str,
    *,
    workers: int = RUN_WORKERS,
    keep: bool = False,
    log: Callable[[str], None] = print,
) -> EmulationResult:
    """Build `variant`'s image the way its Dockerfile says, start it, check it, stop it."""
    info = get_variant(variant)
    dockerfile = DOCKERFILES[info.interpreter]
    tmp = Path(tempfile.mkdtemp(prefix=f"emulate-{variant}-"))
    tmp.chmod(0o755)  # the image's USER must reach the stage folders inside
    try:
        emulation = Emulation(variant, dockerfile, tmp, log)
        started = time.monotonic()
        state = emulation.build()
        build_seconds = time.monotonic() - started
        return start_and_check(emulation, state, info, workers, build_seconds, log)
    finally:
        if keep:
            log(f"[{variant}] kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def start_and_check(emulation, state, info, workers, build_seconds, log) -> EmulationResult:
    variant = info.name
    if state.cmd is None or state.healthcheck is None:
        raise EmulationError("the final stage has no CMD or no HEALTHCHECK")
    port = free_port()
    # As `docker run -e HOST=127.0.0.1 -e PORT=... -e WORKERS=...` would: loopback, a free port.
    env = {**state.env, "HOST": "127.0.0.1", "PORT": str(port), "WORKERS": str(workers)}
    if state.user is not None:
        env["HOME"] = "/nonexistent"  # the image's user has no home
    user = runtime_user(state)
    if state.user is not None and not user:
        emulation.notes.append(f"USER {state.user} not replayed: ran as uid {os.geteuid()}")
    if run_probe(state, env, user) == 0:
        raise EmulationError(f"the health probe passes before the server runs (port {port})")

    argv = [state.map_text(word) for word in state.cmd]
    log(f"[{variant}] CMD {' '.join(state.cmd)} (PORT={port}, WORKERS={workers})")
    server_log = emulation.tmp / "logs" / f"{variant}-server.log"
    server_log.parent.mkdir(exist_ok=True)
    with process_group(argv, server_log, cwd=state.host(state.workdir), env=env, **user) as server:
        started = time.monotonic()
        check = state.healthcheck
        deadline = started + check.seconds("start-period") + check.seconds("interval")
        while run_probe(state, env, user) != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                raise EmulationError(
                    f"not healthy (exit {server.poll()}):\n{server_log.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        seconds_to_healthy = time.monotonic() - started
        log(f"[{variant}] HEALTHCHECK passed after {seconds_to_healthy:.1f} s")

        base = f"http://127.0.0.1:{port}"
        status, health = http_get(f"{base}/health")
        expect(status == 200 and health["status"] == "healthy", f"/health: {status} {health}")
        status, body = http_get(f"{base}/fib/10")
        expect(status == 200, f"/fib/10: {status} {body}")
        expected_implementation = {
            "baseline_app:app": "python-recursive",
            "cython_app:app": "cython-recursive",
        }[info.app]
        expect(body["result"] == 55 and body["n"] == 10, f"/fib/10: {body}")
        expect(body["implementation"] == expected_implementation, f"/fib/10: {body}")
        runtime_prefix = "PyPy " if info.interpreter == "pypy" else "CPython "
        expect(body["runtime"].startswith(runtime_prefix), f"/fib/10 runtime: {body}")
        status, error = http_get(f"{base}/fib/-1")
        expect(status == 400, f"/fib/-1: {status} {error}")
        expect("n must be an integer from 0 to" in error.get("detail", ""), f"/fib/-1: {error}")

        # What runs inside the "container", read from the processes themselves.
        leader = psutil.Process(server.pid)
        tree = [leader, *leader.children(recursive=True)]
        worker_processes = [p for p in tree if any("spawn_main" in part for part in p.cmdline())]
        uids = {p.uids().real for p in tree}
        expect(len(uids) == 1, f"processes run as several users: {uids}")
        if user:
            expect(uids == {user["user"]}, f"ran as {uids}, not USER {state.user}")
        listening = sorted(
            {
                (c.laddr.ip, c.laddr.port)
                for p in tree
                for c in p.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN
            }
        )
        app_dir = str(state.host(state.workdir))
        mapped = {m.path for p in worker_processes or [leader] for m in p.memory_maps(grouped=True)}
        extension_packages = {
            path.split("/site-packages/", 1)[1].split("/")[0]
            for path in mapped
            if path.endswith(".so") and "/site-packages/" in path
        }
        app_extensions = {
            Path(path).name.split(".")[0]
            for path in mapped
            if path.endswith(".so") and path.startswith(app_dir + "/")
        }
        environments = [
            {k: v for k, v in p.environ().items() if k.startswith("PYPY_")}
            for p in worker_processes
        ]
        memory = {p.pid: p.memory_full_info() for p in tree}
        worker_pids = {p.pid for p in worker_processes}
        uss = sum(m.uss for m in memory.values()) / 2**20
        pss = sum(m.pss for m in memory.values()) / 2**20
        worker_pss = [memory[pid].pss / 2**20 for pid in sorted(worker_pids)]
        supervisor_pss = sum(m.pss for pid, m in memory.items() if pid not in worker_pids) / 2**20
        server_command = leader.cmdline()
        server_executable = os.path.realpath(leader.exe())

    output = server_log.read_text(errors="replace").splitlines()
    access_log_lines = [line for line in output if '"GET /' in line]
    app_caches = list(state.host(state.workdir).rglob("__pycache__"))
    expect(not app_caches, f"bytecode written despite PYTHONDONTWRITEBYTECODE: {app_caches}")
    log(f"[{variant}] contract ok, stopped; {len(tree)} processes used {pss:.0f} MB (PSS)")
    return EmulationResult(
        variant=variant,
        dockerfile=emulation.dockerfile.name,
        runtime=body["runtime"],
        implementation=body["implementation"],
        port=port,
        exposed=state.exposed,
        server_command=server_command,
        server_executable=server_executable,
        listening=listening,
        worker_count=len(worker_processes),
        worker_environments=environments,
        extension_packages=extension_packages,
        app_extensions=app_extensions,
        wheel_tags=installed_wheel_tags(state.host("/opt/venv")),
        access_log_lines=access_log_lines,
        ran_as_uid=uids.pop(),
        seconds_to_healthy=seconds_to_healthy,
        memory_uss_mb=uss,
        memory_pss_mb=pss,
        worker_pss_mb=worker_pss,
        supervisor_pss_mb=supervisor_pss,
        skipped=emulation.skipped,
        notes=emulation.notes,
        build_seconds=build_seconds,
    )


def installed_wheel_tags(venv: Path) -> dict[str, list[str]]:
    """{normalized name: the `Tag:` lines of its dist-info WHEEL file} for a virtual environment."""
    from packaging.utils import canonicalize_name

    tags = {}
    for wheel in sorted(venv.glob("lib/*/site-packages/*.dist-info/WHEEL")):
        name = wheel.parent.name.split("-")[0]
        lines = wheel.read_text().splitlines()
        tags[canonicalize_name(name)] = [
            line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")
        ]
    expect(bool(tags), f"no installed distributions under {venv}")
    return tags


def built_from_source(wheel_tags: Mapping[str, list[str]]) -> set[str]:
    """The distributions whose wheel pip built here: a plain `linux_<arch>` platform tag."""
    return {
        name
        for name, tags in wheel_tags.items()
        if any(tag.rsplit("-", 1)[-1].startswith("linux_") for tag in tags)
    }


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise EmulationError(message)


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    variants = [a for a in argv[1:] if a != "--keep"] or ["pypy", "pypy-cython"]
    for variant in variants:
        try:
            result = emulate(variant, keep=keep)
        except (EmulationError, KeyError) as error:
            print(f"emulate_image: {variant}: FAILED: {error}", file=sys.stderr)
            return 1
        print(f"emulate_image: {variant}: ok, {result.runtime}, {result.implementation}")
        print(f"  built in {result.build_seconds:.1f} s, healthy {result.seconds_to_healthy:.1f} s")
        print(f"  after start; running: {' '.join(result.server_command[1:])}")
        print(f"  uid {result.ran_as_uid}; {result.worker_count} workers; listening on")
        print(f"  {result.listening}; memory {result.memory_pss_mb:.0f} MB PSS")
        built_here = sorted(built_from_source(result.wheel_tags)) or ["nothing"]
        print(f"  built from source in the build stage: {', '.join(built_here)}")
        for line in result.skipped:
            print(f"  skipped system step {line}")
        for note in result.notes:
            print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
