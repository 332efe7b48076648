"""Builds fib_cython for the interpreter that runs this file: `python setup.py build_ext --inplace`,
with the repository's COMPILE_FLAGS (cython_build_flags.py, beside this file)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

from cython_build_flags import COMPILE_FLAGS

extension = Extension("fib_cython", sources=["fib_cython.pyx"], extra_compile_args=COMPILE_FLAGS)
setup(
    name="fib-cython",
    ext_modules=cythonize([extension], compiler_directives={"language_level": 3}),
)
