"""Builds fib_cython for the interpreter that runs this file: `python setup.py build_ext --inplace`.

Both interpreters get -O3 (CPython's default; PyPy's sysconfig says -O2) so the compiled code is the
same. No -march=native: that binary could die with "Illegal instruction" on another CPU.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extension = Extension("fib_cython", sources=["fib_cython.pyx"], extra_compile_args=["-O3"])

setup(
    name="fib-cython",
    ext_modules=cythonize([extension], compiler_directives={"language_level": 3}),
)
