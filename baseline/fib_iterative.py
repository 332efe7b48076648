"""The article's swap: Fibonacci by iteration instead of recursion, in plain Python.

A different algorithm, not a compiler: n additions instead of about 1.6**n calls. It is here so the
micro-benchmark can show what the algorithm alone changes, apart from what compiling changes. It
accepts what the compiled recursion accepts (fib_cython.pyx, fib_pure.py) and refuses the rest the
same way: n from 0 to FIB_MAX_N_LIMIT (92, the largest result a signed 64-bit integer holds), else
ValueError; not an int, TypeError. Runs under CPython and PyPy.
"""

from __future__ import annotations

from baseline.fib_settings import FIB_MAX_N_LIMIT


def fib_iterative(n: int) -> int:
    """The n-th Fibonacci number by n additions, exact for 0 <= n <= 92; ValueError outside."""
    if not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 <= n <= FIB_MAX_N_LIMIT:
        raise ValueError(f"n must be from 0 to {FIB_MAX_N_LIMIT} (a signed 64-bit result), got {n}")
    current, following = 0, 1
    for _ in range(n):
        current, following = following, current + following
    return current
