# cython: language_level=3
"""The baseline's recursive Fibonacci, compiled: the same algorithm with C 64-bit integers.

The recursion runs without the GIL, so other threads of the same process (the event loop, other
requests) keep running, on other cores if there are any.
"""

from libc.stdint cimport int64_t

ctypedef int64_t fib_t

RESULT_BITS = sizeof(fib_t) * 8


def _largest_n_that_fits(bits):
    """The largest n whose Fibonacci number a signed integer of `bits` bits holds: 92 for 64."""
    n, current, following = 0, 0, 1
    while following < 2 ** (bits - 1):
        n, current, following = n + 1, following, current + following
    return n


MAX_N = _largest_n_that_fits(RESULT_BITS)  # computed from the type, so they cannot disagree


cdef fib_t _fib(int n) noexcept nogil:
    if n < 2:
        return n
    return _fib(n - 1) + _fib(n - 2)


def fib_recursive(n):
    """The n-th Fibonacci number, exact for 0 <= n <= 92; ValueError outside that range."""
    if not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 <= n <= MAX_N:
        raise ValueError(f"n must be from 0 to {MAX_N} (a signed 64-bit result), got {n}")
    cdef int c_n = n
    cdef fib_t result
    with nogil:
        result = _fib(c_n)
    return result
