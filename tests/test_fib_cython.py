"""The compiled hot path on its own, for the interpreter running pytest (CPython's build, or the
PyPy build through cpyext): equal to the Python recursion, exact where a 32-bit int would wrap,
bounded where a 64-bit one would, and computing without the GIL."""

from __future__ import annotations

import threading

import fib_cython
import pytest
from baseline_app import fib_recursive as fib_python
from hypothesis import given
from hypothesis import strategies as st
from settings import DEFAULT_FIB_MAX_N, FIB_MAX_N_LIMIT

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


def test_other_threads_run_while_it_computes():
    # With the GIL held, this thread could only run again once fib(40) (~0.2 s of C) returned.
    started, finished = threading.Event(), threading.Event()

    def compute():
        started.set()
        fib_cython.fib_recursive(40)
        finished.set()

    worker = threading.Thread(target=compute)
    worker.start()
    started.wait()
    ran_during_computation = not finished.is_set()
    worker.join()
    assert ran_during_computation
