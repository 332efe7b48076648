# cython: language_level=3
"""The baseline's recursive Fibonacci, compiled: the same algorithm with C 64-bit integers.

The recursion runs without the GIL, so other threads of the same process (the event loop, other
requests) keep running, on other cores if there are any.
"""

from libc.stdint cimport int64_t

ctypedef int64_t fib_t

# fib(92) is the largest Fibonacci number a signed 64-bit integer holds; fib(93) would wrap.
MAX_N = 92
RESULT_BITS = sizeof(fib_t) * 8


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
