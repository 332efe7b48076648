"""The scoring service's settings, read from the environment and checked once, with one-line
messages that say what is allowed (as baseline/fib_settings.py does for the Fibonacci app).

    SCORING_ENGINE      python (default), cython, cython-typed or mypyc: which build of the engine
    SCORING_VALIDATION  pydantic (default) or python: how a request is checked

No FastAPI here, so a launcher can check the settings and the engine before any server starts:

    python -m scoring_settings   # prints what the service would run, or one line saying why not
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from baseline.fib_settings import SettingsError, shorten
from engine_flavours import FLAVOURS


@dataclass(frozen=True)
class EngineFlavour:
    package: str  # holds an `engine` module with score(transaction, history)
    make_target: str | None  # what builds it; None for the plain-Python package


# The builds of the same engine: the plain-Python package and the packages generated from it.
# The compiled ones are engine_flavours.py's, each built by `make build-scoring-NAME`.
ENGINE_FLAVOURS: dict[str, EngineFlavour] = {
    "python": EngineFlavour("fraud_scoring", None),
    **{f.name: EngineFlavour(f.package, f"build-scoring-{f.name}") for f in FLAVOURS},
}
DEFAULT_ENGINE = "python"

# pydantic: the request model a team writes first; python: the same rules in plain Python
# (scoring_validation.py), for PyPy, where pydantic-core runs through cpyext.
VALIDATION_MODES = ("pydantic", "python")
DEFAULT_VALIDATION = "pydantic"


@dataclass(frozen=True)
class ScoringSettings:
    engine: str  # a key of ENGINE_FLAVOURS
    validation: str  # one of VALIDATION_MODES


def read_choice(
    name: str, environ: Mapping[str, str], choices: tuple[str, ...], default: str
) -> str:
    """One of `choices` (any case, spaces around ignored) from the environment, `default` when the
    variable is unset or empty; SettingsError for anything else."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {shorten(raw)!r}")
    return value


def read_engine(environ: Mapping[str, str] = os.environ) -> str:
    return read_choice("SCORING_ENGINE", environ, tuple(ENGINE_FLAVOURS), DEFAULT_ENGINE)


def read_validation(environ: Mapping[str, str] = os.environ) -> str:
    return read_choice("SCORING_VALIDATION", environ, VALIDATION_MODES, DEFAULT_VALIDATION)


def read_scoring_settings(environ: Mapping[str, str] = os.environ) -> ScoringSettings:
    return ScoringSettings(engine=read_engine(environ), validation=read_validation(environ))


def has_engine_for_this_interpreter(package: str) -> bool:
    """Whether `package` holds an engine this interpreter can load: engine.py, or an extension
    with one of its suffixes (a build for CPython 3.11 is no use to PyPy)."""
    spec = importlib.util.find_spec(package)  # for a top-level package this imports nothing
    folders = spec.submodule_search_locations if spec else None
    suffixes = [".py", *importlib.machinery.EXTENSION_SUFFIXES]
    return any(
        Path(folder, f"engine{suffix}").exists() for folder in folders or [] for suffix in suffixes
    )


def import_engine(package: str, make_target: str | None, setting: str) -> ModuleType:
    """`package`.engine; SettingsError, naming what builds it, if the package is not built for
    this interpreter or its build does not import."""
    if make_target:
        builds = f"`make {make_target}` builds it"
    else:
        builds = "`make setup` puts case-study/ on the import path"
    if importlib.util.find_spec(package) is None:
        raise SettingsError(f"{setting} needs {package}, which is not built; {builds}")
    if not has_engine_for_this_interpreter(package):
        raise SettingsError(
            f"{setting} needs {package}, which is built for another interpreter, not for "
            f"{platform.python_implementation()} {platform.python_version()}; {builds}"
        )
    try:
        return importlib.import_module(f"{package}.engine")
    except ImportError as error:  # a stale build, or one that needs what is not installed
        one_line = " ".join(str(error).split())
        raise SettingsError(
            f"{setting} needs {package}, which does not import ({shorten(one_line, 80)}); {builds}"
        ) from None


def load_engine(flavour: str) -> ModuleType:
    """The engine module of `flavour` (a key of ENGINE_FLAVOURS), or SettingsError."""
    chosen = ENGINE_FLAVOURS[flavour]
    return import_engine(chosen.package, chosen.make_target, f"SCORING_ENGINE={flavour}")


def is_compiled(module: ModuleType) -> bool:
    """Whether `module` was loaded from a compiled extension (.so) rather than Python source."""
    path = getattr(module, "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def main() -> int:
    try:
        settings = read_scoring_settings()
        engine = load_engine(settings.engine)
    except SettingsError as error:
        print(f"scoring_settings: {error}", file=sys.stderr)
        return 2
    build = "compiled" if is_compiled(engine) else "Python source"
    print(
        f"engine {settings.engine} ({engine.__name__}, {build}), validation {settings.validation}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
