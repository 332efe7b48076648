from __future__ import annotations

import importlib
import os
import platform
import time
from collections.abc import Iterator
from types import ModuleType

import pytest

from variants import ROOT, VARIANTS, Variant

# The suite sets these itself; a value left in the caller's shell must not change what it expects.
for _name in (
    "FIB_MAX_N", "FIB_BUDGET_SECONDS", "FIB_INLINE_SECONDS", "HOST", "PORT", "WORKERS",
    "SCORING_ENGINE", "SCORING_VALIDATION", "LOOP",
):  # fmt: skip
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
    """Fail the run if any test left a process of this checkout running (its interpreters, or wrk
    with its report script): a server, a worker, a load generator. Not only this process's
    children: a worker whose uvicorn supervisor was killed is adopted by init and would otherwise
    go unnoticed."""
    try:
        import psutil
    except ImportError:  # the PyPy run starts no processes and does not install psutil
        yield
        return
    started = time.time() - 1
    yield
    own = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    checkout = str(ROOT)  # this checkout's interpreters, scripts and wrk's report script
    left = []
    for process in psutil.process_iter(["pid", "create_time", "cmdline"]):
        info = process.info
        if info["pid"] in own or (info["create_time"] or 0) < started:
            continue
        if any(checkout in part for part in info["cmdline"] or []):
            left.append((info["pid"], info["cmdline"]))
    assert not left, f"processes left behind: {left}"
