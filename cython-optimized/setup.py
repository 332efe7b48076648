"""Builds fib_cython for the interpreter that runs this file: `python setup.py build_ext --inplace`.

COMPILE_FLAGS come after each interpreter's own sysconfig CFLAGS, so they win: CPython 3.11 says
`-fwrapv -O3` and PyPy 3.9 says `-O2` without -fwrapv, and with these both compile the same code.
benchmarks/micro.py builds its C reference with the same flags. No -march=native: that binary could
die with "Illegal instruction" on another CPU.
"""

COMPILE_FLAGS = ["-O3", "-fwrapv"]


def main() -> None:
    # Imported here so that benchmarks/micro.py can read COMPILE_FLAGS without Cython installed.
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    extension = Extension(
        "fib_cython", sources=["fib_cython.pyx"], extra_compile_args=COMPILE_FLAGS
    )
    setup(
        name="fib-cython",
        ext_modules=cythonize([extension], compiler_directives={"language_level": 3}),
    )


if __name__ == "__main__":
    main()
