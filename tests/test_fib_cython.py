"""The compiled hot path on its own, for the interpreter running pytest (CPython's build, or the
PyPy build through cpyext): equal to the Python recursion, exact where a 32-bit int would wrap,
bounded where a 64-bit one would, and computing without the GIL (a twin built with the GIL held
shows that the GIL test can tell the difference)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import fib_cython
import pytest
from hypothesis import given
from hypothesis import strategies as st

from baseline.baseline_app import fib_recursive as fib_python
from baseline.fib_settings import DEFAULT_FIB_MAX_N, FIB_MAX_N_LIMIT
from tests.contract import fib_reference


def test_equals_the_python_recursion_for_every_allowed_n():
    for n in range(DEFAULT_FIB_MAX_N + 1):
        assert fib_cython.fib_recursive(n) == fib_python(n) == fib_reference(n), n


def test_exact_where_a_32_bit_int_wraps():
    # fib(47) > 2**31 - 1: a `cdef int` version returns a negative number here (about 4 s of C).
    assert fib_cython.fib_recursive(47) == 2971215073
    assert fib_reference(47) > 2**31 - 1


def test_the_bound_is_where_the_64_bit_result_type_wraps():
    assert fib_cython.RESULT_BITS == 64
    assert fib_cython.MAX_N == FIB_MAX_N_LIMIT == 92
    assert fib_reference(92) < 2**63 <= fib_reference(93)


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=FIB_MAX_N_LIMIT + 1)))
def test_refuses_n_outside_what_int64_holds(n: int):
    with pytest.raises((ValueError, OverflowError)):
        fib_cython.fib_recursive(n)


@pytest.mark.parametrize("value", ["10", 10.0, None])
def test_refuses_what_is_not_an_int(value):
    with pytest.raises(TypeError):
        fib_cython.fib_recursive(value)


# fib(40) takes a tenth of a second or more: room for many of this thread's 1 ms naps.
GIL_N = 40
NAP_SECONDS = 0.001
MIN_RUNS_INSIDE = 20
# With the GIL held, this thread can run at most once inside: after fib returns, the worker may hand
# the GIL over before it reads the clock again.
MAX_RUNS_INSIDE_WITH_GIL = 2
NOGIL_BLOCK = "    with nogil:\n        result = _fib(c_n)\n"
GIL_HELD = "    result = _fib(c_n)\n"


@dataclass(frozen=True)
class Overlap:
    result: int
    computing_seconds: float
    runs_inside: int  # times this thread ran strictly between the computation's start and end


def runs_during_computation(fib: Callable[[int], int], n: int = GIL_N) -> Overlap:
    """Compute fib(n) in another thread and count how often this thread ran meanwhile.

    Each of this thread's rounds reads the clock holding the GIL, so a round inside the
    computation's interval proves the computation had let go of the GIL.
    """
    interval: list[float] = []
    results: list[int] = []

    def compute() -> None:
        interval.append(time.perf_counter())
        results.append(fib(n))
        interval.append(time.perf_counter())

    worker = threading.Thread(target=compute)
    rounds: list[float] = []
    worker.start()
    while worker.is_alive():
        rounds.append(time.perf_counter())
        time.sleep(NAP_SECONDS)  # releases the GIL; waking up needs it back
    worker.join()
    start, end = interval
    return Overlap(results[0], end - start, sum(start < tick < end for tick in rounds))


def test_other_threads_run_while_it_computes():
    overlap = runs_during_computation(fib_cython.fib_recursive)
    assert overlap.result == fib_reference(GIL_N)
    assert overlap.runs_inside >= MIN_RUNS_INSIDE, overlap


def build_gil_holding_twin(folder: Path) -> ModuleType:
    """fib_cython.pyx without its `with nogil:`, built and imported as fib_cython_gil."""
    source = Path(fib_cython.__file__).with_name("fib_cython.pyx").read_text()
    assert source.count(NOGIL_BLOCK) == 1, "fib_cython.pyx no longer has the expected nogil block"
    pyx = folder / "fib_cython_gil.pyx"
    pyx.write_text(source.replace(NOGIL_BLOCK, GIL_HELD))
    build = [sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-q", "-3", pyx.name]
    built = subprocess.run(build, cwd=folder, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    binary = folder / f"fib_cython_gil{sysconfig.get_config_var('EXT_SUFFIX')}"
    spec = importlib.util.spec_from_file_location("fib_cython_gil", binary)
    assert spec is not None and spec.loader is not None, binary
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gil_test_fails_for_a_build_that_holds_the_gil(tmp_path: Path):
    twin = build_gil_holding_twin(tmp_path)

    overlap = runs_during_computation(twin.fib_recursive)

    assert overlap.result == fib_reference(GIL_N)
    # Long enough that a GIL-free computation would have let this thread run many times.
    assert overlap.computing_seconds >= 2 * MIN_RUNS_INSIDE * NAP_SECONDS, overlap
    assert overlap.runs_inside <= MAX_RUNS_INSIDE_WITH_GIL < MIN_RUNS_INSIDE, overlap
