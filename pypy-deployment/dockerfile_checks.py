"""What the Dockerfiles must say, checked on their parsed form (docker_files.py): each check returns
the problems it finds, an empty list when there are none. docker_check.py runs them all; the tests
run the same functions, and feed some of them broken files to show that they can fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from docker_files import (
    DEPLOYMENT,
    Dockerfile,
    ImageConfig,
    copied_from_context,
    pins,
    pip_installs,
    requirement_lines,
)
from variants import ROOT, VARIANTS, Variant

# The official PyPy image's full version tag (PyPy 7.3.23, Python 3.11, Debian 12), as listed in
# library/pypy of github.com/docker-library/official-images, the source of hub.docker.com/_/pypy.
PYPY_TAG = "pypy:3.11-7.3.23-slim-bookworm"
# A full version tag: image:<major.minor.patch or pypy's 3.11-7.3.23>-<variant>-<Debian release>.
FULL_VERSION_TAG = re.compile(
    r"(pypy:\d+\.\d+-\d+\.\d+\.\d+|python:\d+\.\d+\.\d+)-slim-(bookworm|trixie)"
    r"(@sha256:[0-9a-f]{64})?"
)
# A compiler or build tool named as a command (not inside a path such as /app/cython-optimized).
COMPILERS = re.compile(
    r"(?<![\w/.-])(gcc|g\+\+|cc|clang|build-essential|make|cython)(?![\w/.-])", re.IGNORECASE
)
# All the final image may take from the build stage: the environment and the compiled extension.
COPIED_FROM_BUILD = (["/opt/venv"], ["/src/extension/"])
# Seconds of failed probes that do not count: PyPy's import and JIT warm-up need more.
PROBE_START_PERIOD_MIN = {"pypy": 45.0, "cpython": 10.0}
# The image's command: serve.py for the flavour, as `make run-NAME` runs it, under the image's
# python.
CMD = ["sh", "-c", 'exec python serve.py "$VARIANT" --python python']
# What pip may build from source in the build stage: httptools has no PyPy wheel; nothing else may
# (pydantic-core would need Rust).
BUILT_FROM_SOURCE = {"pypy": {"httptools"}, "cpython": set()}


def unmet(*conditions: tuple[bool, str]) -> list[str]:
    """The messages of the (condition, message) pairs whose condition does not hold."""
    return [message for holds, message in conditions if not holds]


def variants_built_by(interpreter: str) -> list[Variant]:
    return [variant for variant in VARIANTS if variant.interpreter == interpreter]


# --- the whole Dockerfile -------------------------------------------------------------------------


def base_image_problems(dockerfile: Dockerfile, interpreter: str) -> list[str]:
    """One base image for every stage (the extension is compiled against the interpreter and C
    library that run it), pinned to a full version tag."""
    images = dockerfile.base_images()
    problems = unmet((len(images) == 1, f"the stages start from several images: {images}"))
    for image in images:
        if not FULL_VERSION_TAG.fullmatch(image):
            problems.append(f"{image} is not pinned to a full version tag")
        if interpreter == "pypy" and image.split("@")[0] != PYPY_TAG:
            problems.append(f"{image} is not {PYPY_TAG}")
    return problems


def flavour_problems(dockerfile: Dockerfile, interpreter: str) -> list[str]:
    """One build argument, VARIANT, chooses the flavour: a `variant-NAME` stage per variant of
    variants.py on this interpreter, each on the runtime stage."""
    names = [variant.name for variant in variants_built_by(interpreter)]
    problems = unmet(
        (list(dockerfile.global_args) == ["VARIANT"], f"global ARGs {dockerfile.global_args}"),
        (dockerfile.flavours() == names, f"flavours {dockerfile.flavours()}, variants {names}"),
        (dockerfile.global_args.get("VARIANT") == names[0], f"VARIANT's default is not {names[0]}"),
    )
    for flavour in dockerfile.flavours():
        chain = [
            stage.name for stage in dockerfile.chain(dockerfile.build_args({"VARIANT": flavour}))
        ]
        if chain != ["runtime", f"variant-{flavour}", None]:
            problems.append(f"{flavour} is built from the stages {chain}")
    return problems


def build_stage_problems(dockerfile: Dockerfile, interpreter: str) -> list[str]:
    """The compiler is installed in the build stage only, which never targets the building CPU and
    removes the build tools once they are used."""
    build = dockerfile.stage("build")
    if build is None:
        return ["no stage named build"]
    texts = [i.value for stage in dockerfile.stages for i in stage.all("RUN") + stage.all("ENV")]
    runs = [i.value for i in build.all("RUN")]
    final_stages = {
        stage.name
        for flavour in dockerfile.flavours()
        for stage in dockerfile.chain(dockerfile.build_args({"VARIANT": flavour}))
    }
    return unmet(
        (any("gcc" in text for text in runs), "the build stage installs no gcc"),
        ("build" not in final_stages, "the build stage is part of a final image"),
        (not any("march" in t or "mtune" in t for t in texts), "-march/-mtune: the building CPU"),
        (
            any("pip uninstall --yes Cython setuptools" in t for t in runs),
            "build tools not removed",
        ),
        (any("--no-deps" in t and "pip check" in t for t in runs), "no --no-deps with pip check"),
        *setup_flag_conditions(),
    )


def setup_flag_conditions() -> list[tuple[bool, str]]:
    """The build stage runs cython-optimized/setup.py, which compiles with COMPILE_FLAGS: an
    image runs on CPUs other than the one that built it, so -O3 and never -march/-mtune."""
    from cython_build_flags import COMPILE_FLAGS

    flags = COMPILE_FLAGS
    return [
        ("-O3" in flags, f"setup.py compiles without -O3: {flags}"),
        (not [f for f in flags if f.startswith(("-march", "-mtune"))], f"setup.py: {flags}"),
    ]


def source_build_problems(dockerfile: Dockerfile, interpreter: str) -> list[str]:
    """pip's own option parser reads the build stage's install commands: every package from a
    wheel, with --no-deps, except what BUILT_FROM_SOURCE allows, which is built with the pinned
    setuptools installed before it (--no-build-isolation)."""
    from pip._internal.commands import create_command

    build = dockerfile.stage("build")
    installs = pip_installs(build) if build else []
    copies = copied_from_context(build) if build else {}
    problems = unmet((bool(installs), "the build stage installs nothing with pip"))
    installed: set[str] = set()
    built: set[str] = set()
    for words in installs:
        options, _ = create_command("install").parse_args(words)
        names = {name for file in options.requirements for name in pins(ROOT / copies[file])}
        from_source = sorted(
            name for name in names if options.format_control.get_allowed_formats(name) != {"binary"}
        )
        problems += unmet((options.ignore_dependencies, f"pip install {words}: no --no-deps"))
        if from_source:
            problems += unmet(
                (not options.build_isolation, f"{from_source}: built with an unpinned setuptools"),
                ("setuptools" in installed, f"{from_source}: built before setuptools is installed"),
            )
        installed |= names
        built |= set(from_source)
    expected = BUILT_FROM_SOURCE[interpreter]
    return problems + unmet(
        (built == expected, f"built from source: {sorted(built)}, not {sorted(expected)}")
    )


def copy_source_problems(dockerfile: Dockerfile, context: set[str]) -> list[str]:
    """Every COPY source exists and is in the build context (.dockerignore leaves it in); every
    COPY --from names a stage."""
    problems = []
    for stage in dockerfile.stages:
        for instruction in stage.all("COPY"):
            if "from" in instruction.flags:
                if dockerfile.stage(instruction.flags["from"]) is None:
                    problems.append(f"{instruction}: no such stage")
                continue
            for source in instruction.words()[:-1]:
                folder = source.rstrip("/") + "/"
                if not (ROOT / source).exists():
                    problems.append(f"{instruction}: {source} is not in the repository")
                elif not any(f == source or f.startswith(folder) for f in context):
                    problems.append(f"{instruction}: .dockerignore leaves {source} out")
    return problems


def unpinned_problems(dockerfile: Dockerfile) -> list[str]:
    """Every requirement the image installs (and each file's includes) is exactly name==version."""
    files = {
        source
        for stage in dockerfile.stages
        for source in copied_from_context(stage).values()
        if source.endswith(".txt")
    }
    problems = unmet((bool(files), "the image copies no requirements file"))
    return problems + [problem for file in sorted(files) for problem in unpinned(ROOT / file)]


def unpinned(path: Path) -> list[str]:
    """The requirements in `path` (and its includes) that are not exactly name==version."""
    from packaging.requirements import InvalidRequirement, Requirement

    problems = []
    for file, number, line in requirement_lines(path):
        try:
            specifiers = list(Requirement(line).specifier)
        except InvalidRequirement:
            specifiers = []
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            problems.append(f"{file.name}:{number}: not pinned with ==: {line}")
    return problems


def pin_agreement_problems(deployment: Path = DEPLOYMENT) -> list[str]:
    """The PyPy image takes the CPython variants' releases (the comparison measures runtimes, not
    versions) bar uvloop, which does not install on PyPy; its build pins are the local PyPy's; the
    local PyPy installs the same packages bar a backport anyio needs before Python 3.11."""
    docker = pins(deployment / "requirements-docker.txt")
    docker_build = pins(deployment / "requirements-docker-build.txt")
    cpython_app = pins(ROOT / "baseline" / "requirements.txt")
    cpython_all = pins(ROOT / "cython-optimized" / "requirements.txt")
    local_pypy = pins(deployment / "requirements.txt")
    pypy_variants = variants_built_by("pypy")
    return unmet(
        *[
            (
                cpython_all.get(name) == version,
                f"{name}=={version}; CPython: {cpython_all.get(name)}",
            )
            for name, version in {**docker, **docker_build}.items()
        ],
        (set(cpython_app) - set(docker) == {"uvloop"}, "the image lacks more than uvloop"),
        ({v.loop for v in pypy_variants} == {"asyncio"}, "a PyPy variant needs uvloop"),
        ({v.http for v in pypy_variants} <= set(docker) & set(local_pypy), "no PyPy HTTP parser"),
        (set(docker_build) == {"cython", "setuptools"}, f"build pins {sorted(docker_build)}"),
        (not set(docker_build) & set(docker), "a build pin is also a runtime pin"),
        (docker_build == pins(deployment / "requirements-build.txt"), "build pins differ locally"),
        (set(local_pypy) - set(docker) == {"exceptiongroup"}, "the local PyPy installs others"),
    )


# --- the final image of one flavour ---------------------------------------------------------------


def user_problems(image: ImageConfig, variant: Variant) -> list[str]:
    """A numeric user that is not root, set after the RUNs that need root (useradd)."""
    if image.user is None:
        return ["no USER: the server would run as root"]
    user, _, group = image.user.partition(":")
    names = [i.name for i in image.instructions]
    last_run = max((i for i, name in enumerate(names) if name == "RUN"), default=-1)
    return unmet(
        (user not in {"root", "0"} and group not in {"root", "0"}, f"USER {image.user} is root"),
        (user.isdigit() and int(user) >= 1000, f"USER {image.user}: not a numeric id ≥ 1000"),
        (last_run < names.index("USER"), "a RUN comes after USER"),
    )


def final_image_tool_problems(image: ImageConfig, variant: Variant) -> list[str]:
    """No compiler in the final image: only the environment and the compiled extension come from
    the build stage."""
    problems = []
    for instruction in image.instructions:
        if instruction.name == "RUN" and (
            COMPILERS.search(instruction.value) or "apt-get install" in instruction.value
        ):
            problems.append(f"{instruction}: a build tool in the final image")
        copies_from_stage = instruction.name == "COPY" and "from" in instruction.flags
        if copies_from_stage and instruction.words()[:-1] not in COPIED_FROM_BUILD:
            problems.append(f"{instruction}: more than the environment or the extension")
    return problems


def healthcheck_problems(image: ImageConfig, variant: Variant) -> list[str]:
    """The probe asks /health on serve.py's port with the image's python (no curl in a slim
    image), after a start period long enough for the interpreter's warm-up."""
    check = image.healthcheck
    if check is None or check.command[:2] != ["python", "-c"]:
        return [f"the HEALTHCHECK is not a `python -c` probe: {check}"]
    code = check.command[2]
    ast.parse(code)  # a SyntaxError is a problem too, loud enough as it is
    inner_timeout = re.search(r"timeout=(\d+)", code)
    start_period = PROBE_START_PERIOD_MIN[variant.interpreter]
    return unmet(
        ("/health" in code and "127.0.0.1" in code, "the probe does not ask 127.0.0.1's /health"),
        (
            "os.environ.get('PORT') or get_variant(os.environ['VARIANT']).default_port" in code,
            "the probe does not find the port as serve.py does",
        ),
        (check.seconds("start-period") >= start_period, f"start period under {start_period} s"),
        (1 <= check.seconds("timeout") < check.seconds("interval"), "timeout not under interval"),
        (
            inner_timeout is not None and float(inner_timeout[1]) < check.seconds("timeout"),
            "the probe's own timeout is not under the HEALTHCHECK's",
        ),
        (int(check.options.get("retries", 0)) >= 2, "fewer than 2 retries"),
    )


def run_settings_problems(image: ImageConfig, variant: Variant) -> list[str]:
    """The environment, port and command of `make run-NAME`: serve.py under the image's python,
    with its defaults for PORT, WORKERS and FIB_MAX_N, listening on every interface."""
    makefile = (ROOT / "Makefile").read_text()
    run_target = rf"^run-{variant.name}:.*\n\t@\$\(CPYTHON\) serve\.py {variant.name}$"
    workdirs = [i.value for i in image.instructions if i.name == "WORKDIR"]
    env = image.env
    return unmet(
        (env.get("VARIANT") == variant.name, f"VARIANT={env.get('VARIANT')}"),
        (env.get("HOST") == "0.0.0.0", "HOST is not 0.0.0.0: unreachable from outside"),
        (env.get("PYTHONUNBUFFERED") == "1", "PYTHONUNBUFFERED is not 1"),
        (env.get("PYTHONDONTWRITEBYTECODE") == "1", "PYTHONDONTWRITEBYTECODE is not 1"),
        (env.get("PATH", "").startswith("/opt/venv/bin:"), "the environment is not first on PATH"),
        (not {"PORT", "WORKERS", "FIB_MAX_N"} & set(env), "ENV overrides serve.py's defaults"),
        (image.exposed == [str(variant.default_port)], f"EXPOSE {image.exposed}"),
        (image.cmd == CMD, f"CMD {image.cmd}, not {CMD}"),
        (bool(re.search(run_target, makefile, re.M)), f"make run-{variant.name} differs"),
        (workdirs[:1] == ["/app"], f"WORKDIR {workdirs}"),
    )


def gc_settings_problems(image: ImageConfig, variant: Variant) -> list[str]:
    """The image sets exactly the PYPY_GC_* variables variants.py gives the variant (serve.py
    applies them too; ENV makes them visible, and overridable with `docker run -e`)."""
    in_image = {k: v for k, v in image.env.items() if k.startswith("PYPY_")}
    return unmet((in_image == dict(variant.environment), f"GC settings {in_image}"))


DOCKERFILE_CHECKS = (
    base_image_problems,
    flavour_problems,
    build_stage_problems,
    source_build_problems,
)
IMAGE_CHECKS = (
    user_problems,
    final_image_tool_problems,
    healthcheck_problems,
    run_settings_problems,
    gc_settings_problems,
)
