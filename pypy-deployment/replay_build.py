"""Replays the stages of a Dockerfile with a local interpreter, where no Docker engine can build it.

It reads the Dockerfile with the same model as the checks (docker_files.Dockerfile) and carries out
the stages the chosen flavour needs, instruction by instruction, each stage in a folder of its own
that plays its file system (the container paths /opt, /src, /app and /tmp are mapped into it):

- FROM pypy:3.11-... is played by Debian's PyPy (/usr/bin/pypy3: PyPy 7.3.11, Python 3.9) as the
  `python` first on PATH (FROM python:3.11... by the local CPython 3.11); FROM a stage continues
  that stage's folder.
- RUN runs the step's own shell command with `sh -c` and the stage's ENV and ARG values. System
  steps (apt-get, groupadd, useradd) are skipped and listed: the compiler is the one `make setup`
  installed, and the user is played by running the server as the image's USER (emulate_image.py).
  pip's own cache plays `--mount=type=cache`.
- COPY copies from the repository (honouring .dockerignore) or from another stage's folder. One
  stand-in: the local PyPy is 3.9, so pypy-deployment/requirements-build.txt and requirements.txt
  (the PyPy 3.9 pins) are copied where the image copies requirements-docker-build.txt and
  requirements-docker.txt (the PyPy 3.11 pins): the same install steps with the pins this
  interpreter takes.
- ENV, ARG, WORKDIR, USER, EXPOSE, HEALTHCHECK and CMD are applied as Docker applies them.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from docker_files import (
    Dockerfile,
    Healthcheck,
    Instruction,
    Stage,
    env_values,
    parse_arg,
    parse_healthcheck,
    substitute,
)
from dockerignore import IgnoreRule, is_ignored, load_dockerignore
from processes import ProcessError, run_group
from variants import ROOT

# Container paths the Dockerfiles use, played by folders under each stage's root.
MAPPED_ROOTS = ("opt", "src", "app", "tmp")
_CONTAINER_PATH = re.compile(r"(?<![\w.$}/-])/(?:" + "|".join(MAPPED_ROOTS) + r")(?=/|\b)")
# RUN steps that change the system rather than build the app: skipped, and reported.
SYSTEM_COMMANDS = ("apt-get", "groupadd", "useradd")
# Docker's default PATH in Debian images; the stand-in interpreter's folder goes in front.
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the host lends every step: pip's configuration (its index and cache), TLS certificates.
_HOST_ENV = re.compile(r"PIP_.*|SSL_CERT_.*|REQUESTS_CA_BUNDLE|HOME|LANG|LC_.*")
STEP_TIMEOUT_SECONDS = 600


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
        deployment = "pypy-deployment/"
        standins = {
            deployment + "requirements-docker-build.txt": deployment + "requirements-build.txt",
            deployment + "requirements-docker.txt": deployment + "requirements.txt",
        }
        note = (
            f"{image} is played by the local PyPy ({pypy}, Python 3.9), with the PyPy 3.9 pins "
            "(pypy-deployment/requirements-build.txt and requirements.txt) in place of the "
            "PyPy 3.11 ones"
        )
        return Interpreter(pypy, standins, note)
    if image.startswith("python:"):
        cpython = getattr(sys, "_base_executable", sys.executable)
        return Interpreter(cpython, {}, f"{image} is played by the local CPython ({cpython})")
    raise EmulationError(f"no local interpreter plays {image}")


@dataclass
class StageState:
    """One stage's file system (a folder), configuration and build arguments."""

    root: Path
    env: dict[str, str]
    interpreter: Interpreter
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str | None = None
    exposed: list[str] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    cmd: list[str] | None = None

    @property
    def variables(self) -> dict[str, str]:
        """What $NAME may refer to: the build arguments, and the environment over them."""
        return {**self.args, **self.env}

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
class BuildReplay:
    """The stages of one flavour of `dockerfile`, replayed under `tmp`."""

    variant: str
    dockerfile: Path
    tmp: Path
    log: Callable[[str], None] = print
    states: dict[int, StageState] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # the system steps left out
    notes: list[str] = field(default_factory=list)  # what stood in for what

    def __post_init__(self) -> None:
        self.model = Dockerfile.load(self.dockerfile)
        self.build_args = self.model.build_args({"VARIANT": self.variant})
        self.ignore_rules = load_dockerignore()

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
        """An empty stage whose `python` is the local interpreter that plays `image`'s."""
        interpreter = local_interpreter(image)
        if interpreter.note not in self.notes:
            self.notes.append(interpreter.note)
        bin_dir = self.tmp / "image-bin" / re.sub(r"\W", "-", image)
        bin_dir.mkdir(parents=True, exist_ok=True)
        for alias in ("python", "python3", "pypy3" if image.startswith("pypy") else "python3.11"):
            if not (bin_dir / alias).exists():
                (bin_dir / alias).symlink_to(interpreter.path)
        root = self.tmp / "stages" / name
        root.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if _HOST_ENV.fullmatch(k)}
        env["PATH"] = f"{bin_dir}:{DEBIAN_PATH}"
        return StageState(root=root, env=env, interpreter=interpreter)

    def apply(self, state: StageState, instruction: Instruction) -> None:
        """Carry out one instruction on the stage, as Docker would."""
        name = instruction.name
        if name == "ARG":
            for key, default in parse_arg(instruction.value).items():
                state.args[key] = self.build_args.get(key, default)
        elif name == "ENV":
            mapped = Instruction(name, state.map_text(instruction.value), instruction.line)
            state.env.update(env_values(mapped, state.variables))
        elif name == "WORKDIR":
            path = substitute(instruction.value.strip(), state.variables)
            state.workdir = os.path.normpath(os.path.join(state.workdir, path))
            state.host(state.workdir).mkdir(parents=True, exist_ok=True)
        elif name == "USER":
            state.user = instruction.value.strip()
        elif name == "EXPOSE":
            state.exposed.extend(instruction.words(state.variables))
        elif name == "HEALTHCHECK":
            state.healthcheck = parse_healthcheck(instruction)
        elif name == "CMD":
            shell_form = not instruction.rest.startswith("[")
            state.cmd = ["/bin/sh", "-c", instruction.rest] if shell_form else instruction.words()
        elif name == "RUN":
            self.run(state, instruction)
        elif name == "COPY":
            self.copy(state, instruction)
        elif name != "LABEL":
            raise EmulationError(f"{instruction}: not supported by the emulation")

    def run(self, state: StageState, instruction: Instruction) -> None:
        """RUN: the step's shell command, its container paths mapped into the stage's folder."""
        # pip's own cache on this machine plays `--mount=type=cache`; no other option is replayed.
        for flag, value in instruction.flags.items():
            if not (flag == "mount" and value.startswith("type=cache")):
                raise EmulationError(f"{instruction}: --{flag} is not supported by the emulation")
        command = instruction.rest
        if command.split()[0] in SYSTEM_COMMANDS:
            self.skipped.append(f"line {instruction.line}: {' '.join(command.split())[:100]}")
            self.log(f"[{self.variant}]   skip (system step) line {instruction.line}")
            return
        cwd = state.host(state.workdir)
        cwd.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            result = run_group(
                ["sh", "-c", state.map_text(command)],
                timeout=STEP_TIMEOUT_SECONDS,
                cwd=cwd,
                env=state.variables,
                **as_user(state.user),
            )
        except ProcessError as error:
            raise EmulationError(f"{instruction}: {error}") from None
        output = result.stdout + result.stderr
        (self.tmp / "logs").mkdir(exist_ok=True)
        (self.tmp / "logs" / f"{self.variant}-line{instruction.line}.log").write_text(output)
        if result.returncode != 0:
            raise EmulationError(f"{instruction}\nfailed ({result.returncode}):\n{output[-3000:]}")
        elapsed = time.monotonic() - started
        self.log(f"[{self.variant}]   RUN line {instruction.line} ok in {elapsed:.1f} s")

    def copy(self, state: StageState, instruction: Instruction) -> None:
        """COPY from the build context (less what .dockerignore omits) or another stage."""
        if set(instruction.flags) - {"from"}:
            raise EmulationError(f"{instruction}: only --from is supported by the emulation")
        *sources, destination = instruction.words(state.variables)
        into_folder = destination.endswith("/") or len(sources) > 1
        for source in sources:
            if "from" in instruction.flags:
                origin = self.build(self.stage_named(instruction.flags["from"]))
                matches = sorted(origin.root.glob(source.lstrip("/"))) if "*" in source else []
                paths, rules = matches or [origin.host(source)], None
            else:
                standin = state.interpreter.standins.get(source)
                if standin:
                    self.log(f"[{self.variant}]   COPY {source}: {standin} stands in for it")
                paths, rules = [ROOT / (standin or source)], self.ignore_rules
            for path in paths:
                if not path.exists():
                    raise EmulationError(f"{instruction}: {source} does not exist")
                if rules is not None and is_ignored(path.relative_to(ROOT).as_posix(), rules):
                    raise EmulationError(f"{instruction}: .dockerignore leaves {source} out")
                target = state.host(destination)
                if path.is_dir():
                    copy_folder(path, target, rules)
                else:
                    name = path.name if "*" in source else Path(source).name  # not the stand-in's
                    copy_file(path, target / name if into_folder else target)

    def stage_named(self, name: str) -> Stage:
        stage = self.model.stage(name)
        if stage is None:
            raise EmulationError(f"COPY --from={name}: no such stage")
        return stage


def copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def copy_folder(source: Path, target: Path, rules: list[IgnoreRule] | None) -> None:
    """COPY of a folder: its contents (not the folder itself) into `target`, less what
    .dockerignore omits when it comes from the build context (`rules` given)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        if rules is not None and is_ignored(path.relative_to(ROOT).as_posix(), rules):
            continue
        destination = target / path.relative_to(source)
        if path.is_symlink():
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.symlink_to(os.readlink(path))
        elif path.is_file():
            copy_file(path, destination)
        elif path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)


def as_user(user: str | None) -> dict:
    """Popen's user/group for an image's USER, where this process may switch (as root)."""
    if user is None or os.geteuid() != 0:
        return {}
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise EmulationError(f"USER {user}: the emulation needs numeric ids")
    return {"user": int(uid), "group": int(gid or uid), "extra_groups": []}
