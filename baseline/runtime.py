"""What every app reports as its "runtime": the interpreter it runs on. Its own module so that the
harness and the case study can name the interpreter without building the fib app."""

from __future__ import annotations

import platform
import sys


def runtime_description() -> str:
    """The running interpreter, e.g. 'CPython 3.11.7' or 'PyPy 7.3.11 (Python 3.9.16)'."""
    name = platform.python_implementation()
    if name == "PyPy":
        pypy = sys.pypy_version_info  # type: ignore[attr-defined]
        return f"PyPy {pypy.major}.{pypy.minor}.{pypy.micro} (Python {platform.python_version()})"
    return f"{name} {platform.python_version()}"
