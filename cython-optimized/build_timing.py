"""How long the Cython extensions take to build for one interpreter, step by step.

    python cython-optimized/build_timing.py --interpreter .venv/pypy/bin/python --out FILE

copies the extension sources (setup.py's EXTENSION_SOURCES) into a new temporary folder and builds
them there from scratch with that interpreter, as `setup.py build_ext --inplace` does (the same
extension() definitions, flags and compiler directives), but in two timed steps: Cython translating
each .pyx/.py to C (cythonize), then the C compiler building the modules (setuptools' build_ext).
FILE gets a JSON object:

    interpreter, implementation, python_version, cython_version,
    compiler (the first line of its --version), compile_command (the interpreter's own compiler
    command), compile_flags (cython_build_flags.COMPILE_FLAGS, added after it),
    modules (the files built), cython_seconds, compile_seconds,
    total_seconds (the two steps), wall_seconds (the whole build command, start-up included)

The steps are timed inside the building interpreter (this file runs there with --time-steps-here
and writes its part to a file), so the steps leave out its start-up and imports; wall_seconds has
them. Runs under PyPy 3.9 too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from processes import ProcessError, run_group
from setup import EXTENSION_SOURCES

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCES = tuple(HERE / name for name in EXTENSION_SOURCES)
BUILD_TIMEOUT_SECONDS = 600  # a build takes seconds; this only bounds a hung compiler
STEPS_FILE = "steps.json"


class BuildTimingError(RuntimeError):
    """The build could not be run or timed; the message says why."""


def time_build(
    interpreter: Path, sources: Sequence[Path] = DEFAULT_SOURCES, work_dir: Path | None = None
) -> dict[str, Any]:
    """Build `sources` (.pyx or pure-mode .py files) from scratch in `work_dir` (created; it must
    not hold anything yet) with `interpreter`, and time the steps: the dict FILE gets."""
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="build-timing-") as temporary:
            return time_build(interpreter, sources, Path(temporary))
    prepare_work_dir(work_dir, sources)
    # absolute(), not resolve(): a venv's python is a symlink, and its target is not the venv.
    command = [str(Path(interpreter).absolute()), str(Path(__file__).resolve())]
    command += ["--time-steps-here", *(Path(source).name for source in sources)]
    started = time.perf_counter()
    try:
        completed = run_group(command, timeout=BUILD_TIMEOUT_SECONDS, cwd=work_dir)
    except (OSError, ProcessError) as error:
        raise BuildTimingError(f"{interpreter}: cannot run the build: {error}") from None
    wall_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        output = (completed.stderr + completed.stdout).strip().splitlines()
        raise BuildTimingError(
            f"{interpreter}: the build failed with exit status {completed.returncode}: "
            + " / ".join(output[-5:])
        )
    steps = json.loads((work_dir / STEPS_FILE).read_text())
    return {"interpreter": str(interpreter), **steps, "wall_seconds": wall_seconds}


def prepare_work_dir(work_dir: Path, sources: Sequence[Path]) -> None:
    """An empty `work_dir` with a copy of each source: the build starts from nothing."""
    work_dir.mkdir(parents=True, exist_ok=True)
    if any(work_dir.iterdir()):
        raise BuildTimingError(f"{work_dir} is not empty: a timed build starts from scratch")
    for source in sources:
        if not Path(source).is_file():
            raise BuildTimingError(f"no such source: {source}")
        shutil.copy2(source, work_dir)


def time_steps_here(source_names: Sequence[str]) -> dict[str, Any]:
    """Build the named sources in the current folder with this interpreter, timing cythonize and
    build_ext apart. Cython and setuptools are imported before the clock starts."""
    import Cython
    from Cython.Build import cythonize
    from setuptools import setup

    from cython_build_flags import COMPILE_FLAGS
    from setup import COMPILER_DIRECTIVES, extension

    extensions = [extension(name) for name in source_names]
    started = time.perf_counter()
    translated = cythonize(
        extensions, compiler_directives=COMPILER_DIRECTIVES, force=True, quiet=True
    )
    translated_at = time.perf_counter()
    distribution = setup(
        name="fib-build-timing",
        ext_modules=translated,
        script_args=["--quiet", "build_ext", "--inplace", "--force", "--build-temp", "temp"],
    )
    compiled_at = time.perf_counter()
    compile_command = list(distribution.get_command_obj("build_ext").compiler.compiler_so)
    return {
        "implementation": sys.implementation.name,
        "python_version": sys.version.split()[0],
        "cython_version": Cython.__version__,
        "compiler": compiler_version(compile_command[0]),
        "compile_command": compile_command,
        "compile_flags": list(COMPILE_FLAGS),
        "modules": built_modules(extensions),
        "cython_seconds": translated_at - started,
        "compile_seconds": compiled_at - translated_at,
        "total_seconds": compiled_at - started,
    }


def built_modules(extensions: Sequence[Any]) -> list[str]:
    """The file each extension was built to in the current folder; an error if one is missing."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    missing = [e.name for e in extensions if not Path(e.name + suffix).is_file()]
    if missing:
        raise BuildTimingError(f"the build made no {suffix} file for {', '.join(missing)}")
    return [extension.name + suffix for extension in extensions]


def compiler_version(compiler: str) -> str:
    """The first line of `compiler --version`, e.g. "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"."""
    completed = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True)
    return completed.stdout.splitlines()[0].strip()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interpreter", type=Path, help="the Python that builds (a venv's python)")
    parser.add_argument("--out", type=Path, help="the JSON file to write")
    # Internal: what time_build runs under the interpreter it measures, in the work folder.
    parser.add_argument("--time-steps-here", nargs="+", metavar="SOURCE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_steps_here is None and (args.interpreter is None or args.out is None):
        parser.error("--interpreter and --out are required")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.time_steps_here is not None:
        steps = time_steps_here(args.time_steps_here)
        Path(STEPS_FILE).write_text(json.dumps(steps))
        return 0
    try:
        timing = time_build(args.interpreter)
    except BuildTimingError as error:
        print(f"build_timing.py: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(timing, indent=2) + "\n")
    print(
        f"{args.interpreter}: Cython {timing['cython_seconds']:.2f} s, "
        f"C compiler {timing['compile_seconds']:.2f} s, whole build {timing['wall_seconds']:.2f} s"
        f" -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
