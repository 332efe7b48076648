"""Checks the Docker deployment, with or without a Docker engine (what `make docker-check` runs):

    .venv/cpython/bin/python pypy-deployment/docker_check.py [--emulate]

Without an engine (images can be neither built nor run) it runs the static checks, the tests in
tests/test_docker.py that parse the Dockerfiles, the compose file, .dockerignore and the
requirements files, and says plainly what it could not do. Where `docker info` succeeds it also
runs `docker compose config` and builds every image of the stack. `--emulate` adds the tests that
replay the images' install and start steps with the local interpreters (emulate_image.py).

This module is also the one model of those files that the tests and the emulation share: a
Dockerfile parsed into stages by dockerfile-parse, `.dockerignore` matching, compose's variable
interpolation and the requirements files' pins.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter, get_key_val_dictionary

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = ROOT / "pypy-deployment"
DOCKERFILE_PYPY = DEPLOYMENT / "Dockerfile.pypy"
DOCKERFILE_CPYTHON = DEPLOYMENT / "Dockerfile.cpython"
COMPOSE_FILE = DEPLOYMENT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
STATIC_TESTS = ["tests/test_docker.py", "-k", "not emulated"]

# Which Dockerfile builds a variant, by the interpreter it runs on (variants.py's `interpreter`).
DOCKERFILES = {"pypy": DOCKERFILE_PYPY, "cpython": DOCKERFILE_CPYTHON}


# --- Dockerfiles ----------------------------------------------------------------------------------


@dataclass
class Instruction:
    name: str  # upper case: RUN, COPY, ...
    value: str  # the text after the name, continuation lines joined
    line: int  # 1-based, where it starts

    @property
    def flags(self) -> dict[str, str]:
        """Leading --name=value options (`COPY --from=build`, `RUN --mount=...`, `HEALTHCHECK`)."""
        return dict(split_flags(self.value)[0])

    @property
    def rest(self) -> str:
        """The value without its leading options."""
        return split_flags(self.value)[1]

    def words(self, variables: Mapping[str, str] | None = None) -> list[str]:
        """The arguments as Docker splits them (quotes removed), variables substituted if given."""
        text = self.rest
        if text.lstrip().startswith("["):
            return list(json.loads(text))
        envs = dict(variables) if variables is not None else None
        return list(WordSplitter(text, envs=envs).split())

    def __str__(self) -> str:
        return f"line {self.line}: {self.name} {self.value}"


@dataclass
class Stage:
    index: int
    base: str  # FROM's image or stage reference, unsubstituted (e.g. "variant-${VARIANT}")
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)
    from_line: int = 0

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]  # ARGs before the first FROM, with their defaults
    stages: list[Stage]

    @classmethod
    def load(cls, path: Path) -> Dockerfile:
        # fileobj: given a path, dockerfile-parse only reads files named exactly "Dockerfile".
        parser = DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), env_replace=False)
        global_args: dict[str, str] = {}
        stages: list[Stage] = []
        for item in parser.structure:
            name, value, line = item["instruction"], item["value"], item["startline"] + 1
            if name == "COMMENT":
                continue
            if name == "FROM":
                words = value.split()
                flags_removed = [w for w in words if not w.startswith("--")]
                stage_name = None
                if len(flags_removed) == 3 and flags_removed[1].lower() == "as":
                    stage_name = flags_removed[2]
                stages.append(Stage(len(stages), flags_removed[0], stage_name, [], line))
            elif not stages:
                if name != "ARG":
                    raise ValueError(f"{path}: {name} before the first FROM (line {line})")
                global_args.update(parse_arg(value))
            else:
                stages[-1].instructions.append(Instruction(name, value, line))
        return cls(path, global_args, stages)

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def build_args(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        args = dict(self.global_args)
        for key, value in (overrides or {}).items():
            if key not in args:
                raise KeyError(f"{self.path.name} declares no global ARG {key}")
            args[key] = value
        return args

    def parent(self, stage: Stage, build_args: Mapping[str, str]) -> Stage | str:
        """What `stage` starts from: an earlier stage, or an image reference (a string)."""
        reference = substitute(stage.base, build_args)
        earlier = self.stage(reference)
        if earlier is not None and earlier.index < stage.index:
            return earlier
        return reference

    def chain(self, build_args: Mapping[str, str], target: Stage | None = None) -> list[Stage]:
        """The stages that make up `target` (default: the last), from the one on an image down."""
        stage = target or self.stages[-1]
        chain = [stage]
        while isinstance(parent := self.parent(stage, build_args), Stage):
            stage = parent
            chain.insert(0, stage)
        return chain

    def base_image(self, build_args: Mapping[str, str], target: Stage | None = None) -> str:
        first = self.chain(build_args, target)[0]
        image = self.parent(first, build_args)
        assert isinstance(image, str)
        return image

    def final_instructions(self, build_args: Mapping[str, str]) -> list[Instruction]:
        """Every instruction that shapes the final image, in order."""
        return [i for stage in self.chain(build_args) for i in stage.instructions]

    def flavours(self) -> list[str]:
        """The values the VARIANT build argument may take: the `variant-NAME` stages."""
        return [
            s.name[len("variant-") :]
            for s in self.stages
            if s.name and s.name.startswith("variant-")
        ]


@dataclass
class ImageConfig:
    """What the final image of one flavour declares, read without building it."""

    base_image: str
    env: dict[str, str]  # ENV only (ARGs are not kept in an image)
    user: str | None
    exposed: list[str]
    healthcheck: Healthcheck | None
    cmd: list[str] | None
    instructions: list[Instruction]


def image_config(dockerfile: Dockerfile, flavour: str) -> ImageConfig:
    build_args = dockerfile.build_args({"VARIANT": flavour})
    instructions = dockerfile.final_instructions(build_args)
    env: dict[str, str] = {}
    args: dict[str, str] = {}
    user = cmd = None
    exposed: list[str] = []
    for instruction in instructions:
        if instruction.name == "ARG":
            for key, default in parse_arg(instruction.value).items():
                args[key] = build_args.get(key, default)
        elif instruction.name == "ENV":
            env.update(env_values(instruction, {**args, **env}))
        elif instruction.name == "USER":
            user = substitute(instruction.value.strip(), {**args, **env})
        elif instruction.name == "EXPOSE":
            exposed.extend(instruction.words({**args, **env}))
        elif instruction.name == "CMD":
            cmd = instruction.words()
    return ImageConfig(
        base_image=dockerfile.base_image(build_args),
        env=env,
        user=user,
        exposed=exposed,
        healthcheck=healthcheck(instructions),
        cmd=cmd,
        instructions=instructions,
    )


def split_flags(value: str) -> tuple[list[tuple[str, str]], str]:
    """`--a=1 --b=2 rest` → ([("a", "1"), ("b", "2")], "rest")."""
    flags = []
    rest = value.strip()
    while match := re.match(r"--([a-z-]+)=(\S+)\s+", rest):
        flags.append((match.group(1), match.group(2)))
        rest = rest[match.end() :]
    return flags, rest


def parse_arg(value: str) -> dict[str, str]:
    """`ARG NAME=default` or `ARG NAME` (an empty default)."""
    if "=" in value:
        return get_key_val_dictionary(value)
    return {value.strip(): ""}


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Docker's $NAME / ${NAME} substitution (no quote removal)."""
    return re.sub(
        r"\$(?:\{(\w+)\}|(\w+))",
        lambda m: variables.get(m.group(1) or m.group(2), ""),
        text,
    )


def env_values(instruction: Instruction, variables: Mapping[str, str]) -> dict[str, str]:
    """ENV NAME=value ... (or ENV NAME value) with earlier variables substituted."""
    return get_key_val_dictionary(instruction.value, env_replace=True, envs=dict(variables))


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]  # interval, timeout, start-period, retries
    command: list[str]  # exec form

    def seconds(self, option: str) -> float:
        return duration_seconds(self.options[option])


def healthcheck(instructions: list[Instruction]) -> Healthcheck | None:
    found = [i for i in instructions if i.name == "HEALTHCHECK"]
    if not found:
        return None
    last = found[-1]
    rest = last.rest
    if not rest.startswith("CMD "):
        raise ValueError(f"{last}: expected HEALTHCHECK [options] CMD [...]")
    command = json.loads(rest[len("CMD ") :])
    return Healthcheck(last.flags, command)


def duration_seconds(text: str) -> float:
    """A Docker / compose duration: 1m30s, 60s, 500ms."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


# --- .dockerignore --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    exclude: bool  # False for a `!pattern` exception
    regex: re.Pattern[str]


def load_dockerignore(path: Path = DOCKERIGNORE) -> list[IgnoreRule]:
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        pattern = re.sub(r"/+", "/", pattern)
        rules.append(IgnoreRule(pattern, exclude, re.compile(ignore_regex(pattern))))
    return rules


def ignore_regex(pattern: str) -> str:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out) + r"\Z"


def is_ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker leaves `relative` (to the context root) out: a path is out when it or one of
    its parent folders matches, and the last rule that matches decides."""
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        if any(rule.regex.match(candidate) for candidate in candidates):
            ignored = rule.exclude
    return ignored


def context_files(root: Path = ROOT, rules: list[IgnoreRule] | None = None) -> list[str]:
    """The files Docker would send as the build context (paths relative to the context)."""
    rules = load_dockerignore() if rules is None else rules
    prune = all(rule.exclude for rule in rules)  # without `!` exceptions, an ignored folder is out
    found = []
    for folder, subfolders, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        if prune:
            subfolders[:] = [d for d in subfolders if not is_ignored(prefix + d, rules)]
        found += [prefix + f for f in files if not is_ignored(prefix + f, rules)]
    return sorted(found)


# --- compose --------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def interpolate(value: object, environ: Mapping[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default} and $$ in a scalar."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.group(1), match.group(2), match.group(3) or ""
        if operator == ":-":
            return environ.get(name) or default
        if operator == "-":
            return environ.get(name, default)
        return environ.get(name, "")

    return re.sub(r"\$\$|\$\{(\w+)(?:(:-|-)([^}]*))?\}", replace, str(value))


# --- requirements ---------------------------------------------------------------------------------


def requirement_lines(path: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, line number, requirement) for every requirement, following `-r` includes."""
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"(?:-r|--requirement)\s*(\S+)$", line)
        if include:
            yield from requirement_lines((path.parent / include.group(1)).resolve())
        else:
            yield path, number, line


def unpinned(path: Path) -> list[str]:
    """Requirements in `path` (and its includes) that are not exactly `name==version`."""
    from packaging.requirements import InvalidRequirement, Requirement

    problems = []
    for file, number, line in requirement_lines(path):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"{file.name}:{number}: not a requirement: {line}")
            continue
        specifiers = list(requirement.specifier)
        pinned = (
            len(specifiers) == 1
            and specifiers[0].operator == "=="
            and "*" not in specifiers[0].version
            and not requirement.url
        )
        if not pinned:
            problems.append(f"{file.name}:{number}: not pinned with ==: {line}")
    return problems


def pins(path: Path) -> dict[str, str]:
    """{normalized name: version} of a fully pinned requirements file (and its includes)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    result = {}
    for _, _, line in requirement_lines(path):
        requirement = Requirement(line)
        result[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    return result


# --- the command line -----------------------------------------------------------------------------


def run(command: list[str], **kwargs) -> int:
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, check=False, **kwargs).returncode


def docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    return result.returncode == 0


def compose_command() -> list[str] | None:
    """`docker compose` (the v2 plugin), else `docker-compose` (v1), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def main(argv: list[str]) -> int:
    emulate = "--emulate" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--emulate"]
    if unknown:
        print("usage: python pypy-deployment/docker_check.py [--emulate]", file=sys.stderr)
        return 2
    tests = ["tests/test_docker.py"] if emulate else STATIC_TESTS
    print("docker-check: static checks of the Dockerfiles, compose file, .dockerignore and pins")
    status = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT)
    if status != 0:
        print("docker-check: FAILED (the static checks above)")
        return 1

    not_done = []
    if not emulate:
        not_done.append(
            "replay the images' install and start steps with the local interpreters "
            "(`make test` does: tests/test_docker.py -k emulated; or add --emulate)"
        )
    if docker_engine_available():
        compose = compose_command() or []
        if not compose:
            print("docker-check: a Docker engine but no compose CLI; skipping compose")
            not_done.append("docker compose config / build (no compose CLI)")
        else:
            base = [*compose, "-f", str(COMPOSE_FILE), "--profile", "all"]
            if run([*base, "config", "--quiet"], cwd=DEPLOYMENT) != 0:
                return 1
            if run([*base, "build"], cwd=DEPLOYMENT) != 0:
                return 1
    else:
        not_done.append(
            "build the images and run them: there is no Docker engine here (`docker info` fails)"
        )
        compose = compose_command()
        if compose:  # config is client-side: it validates the file against the compose schema
            if run([*compose, "-f", str(COMPOSE_FILE), "--profile", "all", "config", "-q"]) != 0:
                return 1
        else:
            not_done.append("validate with `docker compose config` (no compose CLI here)")
    print("docker-check: passed.")
    for item in not_done:
        print(f"docker-check: not done: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
