"""The Docker deployment's files as data, read without a Docker engine: the Dockerfiles parsed into
stages and instructions (dockerfile-parse), what the final image of a flavour declares, compose's
variable interpolation and the requirements files' pins (.dockerignore is dockerignore.py's).

Only the model: the checks are in dockerfile_checks.py and compose_checks.py, the replay of an
image's steps in replay_build.py and emulate_image.py.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter, get_key_val_dictionary

from variants import ROOT

DEPLOYMENT = ROOT / "pypy-deployment"
COMPOSE_FILE = DEPLOYMENT / "docker-compose.yml"
# Which Dockerfile builds a variant, by the interpreter it runs on (variants.py's `interpreter`).
DOCKERFILES = {"pypy": DEPLOYMENT / "Dockerfile.pypy", "cpython": DEPLOYMENT / "Dockerfile.cpython"}


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
                stages.append(from_stage(len(stages), value, line))
            elif stages:
                stages[-1].instructions.append(Instruction(name, value, line))
            elif name == "ARG":
                global_args.update(parse_arg(value))
            else:
                raise ValueError(f"{path}: {name} before the first FROM (line {line})")
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
        image = self.parent(self.chain(build_args, target)[0], build_args)
        assert isinstance(image, str)
        return image

    def base_images(self) -> set[str]:
        """Every image a stage starts from (with the default build arguments)."""
        parents = [self.parent(stage, self.build_args()) for stage in self.stages]
        return {parent for parent in parents if isinstance(parent, str)}

    def flavours(self) -> list[str]:
        """The values the VARIANT build argument may take: the `variant-NAME` stages."""
        prefix = "variant-"
        return [s.name[len(prefix) :] for s in self.stages if s.name and s.name.startswith(prefix)]


def from_stage(index: int, value: str, line: int) -> Stage:
    """The stage a `FROM [--flags] image [AS name]` line starts."""
    words = [word for word in value.split() if not word.startswith("--")]
    named = len(words) == 3 and words[1].lower() == "as"
    return Stage(index, words[0], words[2] if named else None, [], line)


def copied_from_context(stage: Stage) -> dict[str, str]:
    """{container path: context path} of the files the stage's COPY instructions take from the
    build context (not from another stage), for those copied to a path of their own."""
    copies = {}
    for instruction in stage.all("COPY"):
        *sources, destination = instruction.words()
        if "from" not in instruction.flags and len(sources) == 1 and not destination.endswith("/"):
            copies[destination] = sources[0]
    return copies


def pip_installs(stage: Stage) -> list[list[str]]:
    """The arguments after `pip install` of every install command in the stage's RUNs."""
    installs = []
    for instruction in stage.all("RUN"):
        for command in instruction.rest.split("&&"):
            words = shlex.split(command)
            if words[1:4] == ["-m", "pip", "install"]:
                installs.append(words[4:])
    return installs


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]  # interval, timeout, start-period, retries
    command: list[str]  # exec form

    def seconds(self, option: str) -> float:
        return duration_seconds(self.options[option])


@dataclass
class ImageConfig:
    """What the final image of one flavour declares, read without building it."""

    base_image: str
    env: dict[str, str]  # ENV only (ARGs are not kept in an image)
    user: str | None
    exposed: list[str]
    healthcheck: Healthcheck | None
    cmd: list[str] | None
    instructions: list[Instruction]  # every instruction that shapes the image, in order


def image_config(dockerfile: Dockerfile, flavour: str) -> ImageConfig:
    build_args = dockerfile.build_args({"VARIANT": flavour})
    instructions = [i for s in dockerfile.chain(build_args) for i in s.instructions]
    image = ImageConfig(dockerfile.base_image(build_args), {}, None, [], None, None, instructions)
    args: dict[str, str] = {}
    for instruction in instructions:
        variables = {**args, **image.env}
        if instruction.name == "ARG":
            for key, default in parse_arg(instruction.value).items():
                args[key] = build_args.get(key, default)
        elif instruction.name == "ENV":
            image.env.update(env_values(instruction, variables))
        elif instruction.name == "USER":
            image.user = substitute(instruction.value.strip(), variables)
        elif instruction.name == "EXPOSE":
            image.exposed.extend(instruction.words(variables))
        elif instruction.name == "CMD":
            image.cmd = instruction.words()
        elif instruction.name == "HEALTHCHECK":
            image.healthcheck = parse_healthcheck(instruction)
    return image


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


def parse_healthcheck(instruction: Instruction) -> Healthcheck:
    if not instruction.rest.startswith("CMD "):
        raise ValueError(f"{instruction}: expected HEALTHCHECK [options] CMD [...]")
    return Healthcheck(instruction.flags, json.loads(instruction.rest[len("CMD ") :]))


def duration_seconds(text: str) -> float:
    """A Docker / compose duration: 1m30s, 60s, 500ms."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


# --- compose --------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def interpolate(value: object, environ: Mapping[str, str] | None = None) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default} and $$ in a scalar."""
    environ = environ or {}

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


def memory_bytes(text: str) -> int:
    """A compose memory size: 1088m, 1g, 512k, 1048576 (powers of 1024)."""
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", text.lower()).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


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


def pins(path: Path) -> dict[str, str]:
    """{normalized name: version} of a fully pinned requirements file (and its includes)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    result = {}
    for _, _, line in requirement_lines(path):
        requirement = Requirement(line)
        result[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    return result
