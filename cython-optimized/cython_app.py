"""The baseline app with its hot path compiled by Cython: same contract, same algorithm."""

from __future__ import annotations

from baseline.baseline_app import create_app

try:
    from fib_cython import fib_recursive
except ImportError as error:
    raise ImportError(
        "fib_cython is not built for this interpreter: run `make setup` "
        "(or `python setup.py build_ext --inplace` in cython-optimized/)"
    ) from error

IMPLEMENTATION = "cython-recursive"  # what /health and /fib report as this variant's hot path
RELEASES_GIL = True  # fib_cython computes `with nogil`: one worker computes on every core

app = create_app(fib_recursive, implementation=IMPLEMENTATION, releases_gil=RELEASES_GIL)
