"""fib_cython.pyx's recursion in Cython's pure Python mode: one file that is plain Python until
Cython compiles it, and then the same C code as the .pyx (C 64-bit integers, no GIL).

Uncompiled it runs on any interpreter with the `cython` package (CPython, PyPy), whose decorators
and types then do nothing: the recursion is plain Python and gives the same numbers, and
`COMPILED` (cython.compiled) says which one ran. See
https://cython.readthedocs.io/en/latest/src/tutorial/pure.html

Import shadowing: `setup.py build_ext --inplace` writes fib_pure.<ABI>.so beside this file, and
Python's import system tries extension modules before source files in a folder, so `import
fib_pure` then loads the compiled module. `load_uncompiled()` loads this source file itself under
another module name, for the measurements and tests that need the uncompiled one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cython

# The .pyx uses int64_t; `long long` is that type on every LP64 platform (Linux on x86-64, arm64)
# and `cython.longlong` is what pure mode spells out without a cimport.
fib_t = cython.typedef(cython.longlong)

COMPILED: bool = cython.compiled
# Uncompiled, Python ints never wrap and cython.sizeof() answers 1, so the limit is the C type's.
RESULT_BITS = cython.sizeof(fib_t) * 8 if cython.compiled else 64
SOURCE = Path(__file__).with_name("fib_pure.py")  # this file, also from the compiled module
UNCOMPILED_NAME = "fib_pure_uncompiled"


def _largest_n_that_fits(bits: int) -> int:
    """The largest n whose Fibonacci number a signed integer of `bits` bits holds: 92 for 64."""
    n, current, following = 0, 0, 1
    while following < 2 ** (bits - 1):
        n, current, following = n + 1, following, current + following
    return n


MAX_N = _largest_n_that_fits(RESULT_BITS)  # computed from the type, so they cannot disagree


# cdef fib_t _fib(int n) noexcept nogil: exceptval(check=False) is pure mode's `noexcept`
# (https://cython.readthedocs.io/en/latest/src/userguide/language_basics.html#error-return-values)
@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _fib(n: cython.int) -> fib_t:
    if n < 2:
        return n
    return _fib(n - 1) + _fib(n - 2)


def fib_recursive(n):
    """The n-th Fibonacci number, exact for 0 <= n <= 92; ValueError outside that range."""
    if not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 <= n <= MAX_N:
        raise ValueError(f"n must be from 0 to {MAX_N} (a signed 64-bit result), got {n}")
    c_n: cython.int = int(n)  # True is 1 here, as in C: both builds return an int, never a bool
    result: fib_t
    with cython.nogil:
        result = _fib(c_n)
    return result


def load_uncompiled() -> ModuleType:
    """This source file run by the interpreter, as the module `fib_pure_uncompiled`, whether or not
    a compiled fib_pure shadows it on the import path; loaded once per process."""
    loaded = sys.modules.get(UNCOMPILED_NAME)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(UNCOMPILED_NAME, SOURCE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SOURCE} as {UNCOMPILED_NAME}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[UNCOMPILED_NAME] = module
    spec.loader.exec_module(module)
    return module
