"""The C compiler flags of every Cython build in this repository (setup.py's, the case study's) and
of the micro-benchmark's plain C reference, so all of them compile at the same optimisation level.

They come after each interpreter's own sysconfig CFLAGS, so they win: CPython 3.11 says
`-fwrapv -O3` and PyPy 3.9 says `-O2` without -fwrapv, and with these both compile the same code.
No -march=native: that binary could die with "Illegal instruction" on another CPU.
"""

COMPILE_FLAGS = ["-O3", "-fwrapv"]
