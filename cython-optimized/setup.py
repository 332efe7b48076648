"""Builds the Cython extensions for the interpreter that runs this file:
`python setup.py build_ext --inplace`, with the repository's COMPILE_FLAGS (cython_build_flags.py,
beside this file).

fib_cython (fib_cython.pyx) is the Cython app's hot path. fib_pure (fib_pure.py) is the same
recursion in Cython's pure Python mode, built as its own module with the same flags for the
micro-benchmark; it is built where its source is, and the Docker images, which serve only the
.pyx, copy only fib_cython.pyx. build_timing.py imports EXTENSION_SOURCES, extension() and
COMPILER_DIRECTIVES to time the same build step by step.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup

from cython_build_flags import COMPILE_FLAGS

COMPILER_DIRECTIVES = {"language_level": 3}
EXTENSION_SOURCES = ("fib_cython.pyx", "fib_pure.py")
OPTIONAL_SOURCES = frozenset({"fib_pure.py"})  # not in the Docker images' build context


def extension(source: str) -> Extension:
    """The extension module built from `source` (a file name in the current folder), named after
    it: fib_cython.pyx → fib_cython."""
    return Extension(Path(source).stem, sources=[source], extra_compile_args=COMPILE_FLAGS)


def sources_here(folder: Path) -> list[str]:
    """EXTENSION_SOURCES present in `folder`; a missing source that is not optional is an error."""
    missing = [name for name in EXTENSION_SOURCES if not (folder / name).is_file()]
    required = [name for name in missing if name not in OPTIONAL_SOURCES]
    if required:
        raise SystemExit(f"setup.py: {', '.join(required)} not found in {folder}")
    return [name for name in EXTENSION_SOURCES if name not in missing]


if __name__ == "__main__":
    from Cython.Build import cythonize

    setup(
        name="fib-cython",
        ext_modules=cythonize(
            [extension(source) for source in sources_here(Path.cwd())],
            compiler_directives=COMPILER_DIRECTIVES,
        ),
    )
