"""Build the compiled flavours of the case study's fraud-scoring engine (CPython only).

    .venv/cpython/bin/python case-study/build_engines.py                  # every flavour
    .venv/cpython/bin/python case-study/build_engines.py --flavour cython-typed

Each flavour is the same engine under a package name of its own, so all of them import side by side
with the plain `fraud_scoring` (an extension module next to a .py of the same name would win the
import, which is why nothing is compiled in place):

    cython        fraud_scoring_cython: the request-path modules as they are, compiled by Cython
    cython-typed  fraud_scoring_cython_typed: the same with features_typed.py as features.py
    mypyc         fraud_scoring_mypyc: the cython-typed sources, compiled by mypyc

The flavour names are the app's SCORING_ENGINE values, and each package says which it is in FLAVOUR.

The modules are copied to build/<flavour>/<package>/ and compiled there with the repository's
COMPILE_FLAGS; the extension modules and a generated __init__.py are then installed as
case-study/<package>/, with no .py copies, so the compiled code is what runs. A flavour whose
inputs (sources, flags, compiler version, this script and engine_flavours.py) have not changed
since its last build is left alone; otherwise Cython compiles again only the modules whose source
changed (mypyc compiles its modules as one library, so all of them). A failure is one line on
stderr, and the exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from importlib import metadata
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import engine_flavours
from cython_build_flags import COMPILE_FLAGS
from engine_flavours import (
    CASE_STUDY,
    FLAVOURS,
    FLAVOURS_BY_NAME,
    GENERATED_INIT,
    MYPY_OPTIONS,
    REQUEST_PATH_MODULES,
    Flavour,
)

# The distribution that provides each compiler, for its version and for the message when missing.
COMPILER_DISTRIBUTIONS = {"cython": "Cython", "mypyc": "mypy"}
COMPILER_MODULES = {"cython": "Cython", "mypyc": "mypyc"}


# The first line of a build log that says what went wrong: Cython's "file:line:col: message", mypy's
# "file:line: error: message", the C compiler's "file:line:col: error: message".
ERROR_LINE_PATTERNS = (
    re.compile(r"^\S+\.py:\d+:\d+: .+"),
    re.compile(r"^\S+\.py:\d+: error: .+"),
    re.compile(r"^\S+:\d+:\d+: (fatal )?error: .+"),
)


class BuildError(Exception):
    """Why a flavour could not be built, in one line."""


def toolchain_problem() -> str | None:
    """Why nothing can be compiled with this interpreter, or None: the extension modules are
    CPython's, and need a C compiler and Python's headers."""
    if sys.implementation.name != "cpython":
        return "the flavours are CPython extension modules: run this with .venv/cpython/bin/python"
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler: {compiler} is not on PATH"
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        return "Python's C headers (Python.h) are not installed"
    return None


def compiler_problem(flavour: Flavour) -> str | None:
    if importlib.util.find_spec(COMPILER_MODULES[flavour.compiler]) is None:
        distribution = COMPILER_DISTRIBUTIONS[flavour.compiler]
        return f"{distribution} is not installed in this environment ({sys.prefix})"
    return None


def toolchain_fingerprint(flavour: Flavour) -> str:
    """What makes every module of the flavour stale when it changes."""
    parts = [
        sys.version,
        " ".join(COMPILE_FLAGS),
        metadata.version(COMPILER_DISTRIBUTIONS[flavour.compiler]),
        Path(__file__).read_text(encoding="utf-8"),
        Path(engine_flavours.__file__).read_text(encoding="utf-8"),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def wanted_sources(flavour: Flavour) -> dict[str, bytes]:
    """The package as it is compiled: file name → content."""
    sources = {
        f"{module}.py": flavour.source_of(module).read_bytes() for module in REQUEST_PATH_MODULES
    }
    init = GENERATED_INIT.format(description=flavour.description, name=flavour.name)
    sources["__init__.py"] = init.encode()
    return sources


def digests(sources: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(content).hexdigest() for name, content in sources.items()}


def extension_name(module: str) -> str:
    return module + EXTENSION_SUFFIXES[0]


def built_extensions(flavour: Flavour) -> list[Path]:
    """The extension modules the compiler left in the build's package directory (with mypyc also
    the library that all of the group's modules share)."""
    package_dir = flavour.build_dir / flavour.package
    return sorted(package_dir.glob("*" + EXTENSION_SUFFIXES[0]))


def read_stamp(flavour: Flavour) -> dict:
    try:
        return json.loads((flavour.build_dir / "stamp.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_stamp(flavour: Flavour, toolchain: str, sources: dict[str, str]) -> None:
    stamp = {"toolchain": toolchain, "sources": sources}
    (flavour.build_dir / "stamp.json").write_text(json.dumps(stamp, indent=1), encoding="utf-8")


def write_if_changed(path: Path, content: bytes) -> bool:
    """Leave an unchanged file alone, so that its age tells the compiler it needs no rebuild."""
    if path.exists() and path.read_bytes() == content:
        return False
    path.write_bytes(content)
    return True


def copy_sources(flavour: Flavour, sources: dict[str, bytes]) -> list[str]:
    """Put the package's sources in the build directory; returns the names of those that changed."""
    package_dir = flavour.build_dir / flavour.package
    package_dir.mkdir(parents=True, exist_ok=True)
    return [
        name for name, content in sources.items() if write_if_changed(package_dir / name, content)
    ]


def cython_extensions(flavour: Flavour) -> list:
    from Cython.Build import cythonize
    from setuptools import Extension

    modules = [
        Extension(
            f"{flavour.package}.{module}",
            [f"{flavour.package}/{module}.py"],
            extra_compile_args=COMPILE_FLAGS,
        )
        for module in REQUEST_PATH_MODULES
    ]
    return cythonize(modules, compiler_directives={"language_level": 3})


def mypyc_extensions(flavour: Flavour) -> list:
    from mypyc.build import mypycify

    paths = [f"{flavour.package}/{module}.py" for module in REQUEST_PATH_MODULES]
    # One group: the modules call each other natively through one shared library, named so that
    # it lands inside the package rather than beside it.
    extensions = mypycify([*MYPY_OPTIONS, *paths], group_name=f"{flavour.package}.native")
    for extension in extensions:
        extension.extra_compile_args = [*extension.extra_compile_args, *COMPILE_FLAGS]
    return extensions


def compile_in_build_dir(flavour: Flavour) -> None:
    """Compile the copied modules next to their sources. Runs in a child process (run_compiler)."""
    from setuptools import setup

    os.chdir(flavour.build_dir)
    if flavour.compiler == "mypyc":
        extensions = mypyc_extensions(flavour)
    else:
        extensions = cython_extensions(flavour)
    setup(
        name=flavour.package,
        ext_modules=extensions,
        script_args=["build_ext", "--inplace", "--build-temp", "temp", f"-j{os.cpu_count() or 1}"],
    )


def first_error_line(log: str, flavour: Flavour) -> str:
    """The line of the build log that says what failed, naming the file to edit."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    found = next(
        (line for line in lines if any(pattern.match(line) for pattern in ERROR_LINE_PATTERNS)),
        lines[-1] if lines else "no output",
    )
    for module in REQUEST_PATH_MODULES:
        copy = f"{flavour.package}/{module}.py"
        found = found.replace(copy, str(flavour.source_of(module).relative_to(CASE_STUDY.parent)))
    return found


def run_compiler(flavour: Flavour) -> None:
    """Run the compiler in a child process: setuptools prints pages and may exit the process, and a
    failure has to end up here as one line. The whole output is kept in build.log."""
    command = [sys.executable, __file__, "--compile-in-build-dir", flavour.name]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    log = result.stdout + result.stderr
    log_path = flavour.build_dir / "build.log"
    log_path.write_text(log, encoding="utf-8")
    if result.returncode != 0:
        where = log_path.relative_to(CASE_STUDY.parent)
        raise BuildError(f"{first_error_line(log, flavour)} (the whole log: {where})")
    missing = [
        module
        for module in REQUEST_PATH_MODULES
        if not (flavour.build_dir / flavour.package / extension_name(module)).exists()
    ]
    if missing:
        raise BuildError(f"the compiler made no extension module for {', '.join(missing)}")


def install(flavour: Flavour) -> bool:
    """Make case-study/<package>/ hold the generated __init__.py and the extension modules, nothing
    else; returns whether anything changed. A changed file is replaced by a rename rather than
    rewritten, so a process that has the old extension module loaded keeps a valid file."""
    wanted = {path.name: path for path in built_extensions(flavour)}
    wanted["__init__.py"] = flavour.build_dir / flavour.package / "__init__.py"
    target = flavour.installed_dir
    target.mkdir(exist_ok=True)
    changed = False
    for path in target.iterdir():
        if path.name not in wanted and path.name != "__pycache__":
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            changed = True
    for name, source in wanted.items():
        installed = target / name
        if installed.exists() and installed.read_bytes() == source.read_bytes():
            continue
        partial = target / f".{name}.partial"
        shutil.copy2(source, partial)
        os.replace(partial, installed)
        changed = True
    return changed


def is_up_to_date(flavour: Flavour, toolchain: str, sources: dict[str, bytes]) -> bool:
    stamp = read_stamp(flavour)
    package_dir = flavour.build_dir / flavour.package
    return (
        stamp.get("toolchain") == toolchain
        and stamp.get("sources") == digests(sources)
        and all((package_dir / extension_name(m)).exists() for m in REQUEST_PATH_MODULES)
    )


def compile_changes(flavour: Flavour, toolchain: str, sources: dict[str, bytes]) -> None:
    if read_stamp(flavour).get("toolchain") != toolchain and flavour.build_dir.exists():
        shutil.rmtree(flavour.build_dir)  # another compiler, flags or script: start afresh
    changed = ", ".join(copy_sources(flavour, sources)) or "no source changed"
    print(f"{flavour.package}: compiling with {flavour.compiler} ({changed})", flush=True)
    started = time.perf_counter()
    run_compiler(flavour)
    print(f"{flavour.package}: compiled in {time.perf_counter() - started:.1f} s", flush=True)
    write_stamp(flavour, toolchain, digests(sources))


def build(flavour: Flavour) -> None:
    """Bring one flavour up to date, saying what it does."""
    problem = toolchain_problem() or compiler_problem(flavour)
    if problem:
        raise BuildError(problem)
    toolchain = toolchain_fingerprint(flavour)
    sources = wanted_sources(flavour)
    up_to_date = is_up_to_date(flavour, toolchain, sources)
    if not up_to_date:
        compile_changes(flavour, toolchain, sources)
    if install(flavour):
        print(f"{flavour.package}: installed in case-study/{flavour.package}/")
    elif up_to_date:
        print(f"{flavour.package}: up to date")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--flavour", choices=sorted(FLAVOURS_BY_NAME), help="build only this flavour (default: all)"
    )
    parser.add_argument("--compile-in-build-dir", metavar="FLAVOUR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_in_build_dir:
        compile_in_build_dir(FLAVOURS_BY_NAME[args.compile_in_build_dir])
        return 0
    selected = [FLAVOURS_BY_NAME[args.flavour]] if args.flavour else list(FLAVOURS)
    failed = 0
    for flavour in selected:
        try:
            build(flavour)
        except BuildError as error:
            print(f"build_engines: {flavour.package} failed: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
