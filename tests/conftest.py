from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Iterator
from types import ModuleType

import pytest

from variants import VARIANTS, Variant

# The suite sets these itself; a value left in the caller's shell must not change what it expects.
for _name in ("FIB_MAX_N", "FIB_BUDGET_SECONDS", "HOST", "PORT", "WORKERS"):
    os.environ.pop(_name, None)


def app_module(variant: Variant) -> ModuleType:
    """The module that holds the variant's app (imported under this interpreter)."""
    return importlib.import_module(variant.app.split(":")[0])


def expected_implementation(variant: Variant) -> str:
    """What the variant must report as its hot path: the name its app module declares."""
    return app_module(variant).IMPLEMENTATION


def current_interpreter() -> str:
    return "pypy" if platform.python_implementation() == "PyPy" else "cpython"


def variants_of_this_interpreter() -> list[Variant]:
    """The variants that run in this process: CPython's under CPython, PyPy's under PyPy."""
    return [variant for variant in VARIANTS if variant.interpreter == current_interpreter()]


def expected_runtime_prefix(variant: Variant) -> str:
    return "PyPy 7." if variant.interpreter == "pypy" else "CPython 3."


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fail the run if any test left a child process (a server, a worker) running."""
    yield
    try:
        import psutil
    except ImportError:  # the PyPy run starts no processes and does not install psutil
        return
    left = [child for child in psutil.Process().children(recursive=True) if child.is_running()]
    assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
