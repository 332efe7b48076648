"""One micro-benchmark: a pyperf Runner timing one implementation of fib(n).

Run by benchmarks/micro.py under each interpreter (CPython 3.11 and PyPy 3.9, so Python 3.9
syntax; the apps' folders are on its import path through the .pth file `make setup` installs):

    python benchmarks/micro_worker.py --implementation python --fib-n 25 -o out.json

pyperf re-executes this script for its worker processes; our own options reach them through
`add_cmdline_args`. (`-n` is pyperf's --values, hence `--fib-n`.) Every process records the value
fib(n) returned as the metadata "fib_result", so the caller can check what was timed.

The implementations: "python" (the baseline's recursion), "cython" (fib_cython.pyx compiled),
"pure-compiled" and "pure-uncompiled" (cython-optimized/fib_pure.py, the same recursion in Cython's
pure Python mode, as its compiled module and as the source file run by the interpreter), and
"iterative" (baseline/fib_iterative.py, the other algorithm).
"""

from __future__ import annotations

import argparse
from typing import Callable

import pyperf

from baseline.fib_settings import FIB_MAX_N_LIMIT

IMPLEMENTATIONS = ("python", "cython", "pure-compiled", "pure-uncompiled", "iterative")


def load_fib(implementation: str) -> Callable[[int], int]:
    # The app's own function objects, imported from their modules (which also builds the baseline's
    # FastAPI app: about 1 s per process on PyPy). A copy run from a plain dict of globals instead
    # of a module's was 2.4x slower on PyPy: its JIT treats module globals specially.
    if implementation == "cython":
        from fib_cython import fib_recursive as fib
    elif implementation == "pure-compiled":
        fib = load_pure_mode(compiled=True)
    elif implementation == "pure-uncompiled":
        fib = load_pure_mode(compiled=False)
    elif implementation == "iterative":
        from baseline.fib_iterative import fib_iterative as fib
    else:
        from baseline.baseline_app import fib_recursive as fib
    return fib


def load_pure_mode(compiled: bool) -> Callable[[int], int]:
    """fib_pure's function, from its compiled module or from its source file (which a compiled
    fib_pure beside it would shadow on a plain import); an error if the wrong one loaded."""
    import fib_pure

    module = fib_pure if compiled else fib_pure.load_uncompiled()
    loaded_compiled = module.COMPILED
    if loaded_compiled != compiled:
        wanted = "compiled (`make setup` builds it)" if compiled else "uncompiled"
        raise RuntimeError(f"fib_pure from {module.__file__} is not {wanted}")
    return module.fib_recursive


def check_n(n: int) -> None:
    # The baseline's recursion has no bound of its own: n < 0 returns at once, n = 93 runs for ages.
    if not 0 <= n <= FIB_MAX_N_LIMIT:
        raise ValueError(f"--fib-n must be from 0 to {FIB_MAX_N_LIMIT}, got {n}")


def pass_our_options(cmd: list[str], args: argparse.Namespace) -> None:
    """Give every worker process the options the manager process was started with."""
    cmd.extend(("--implementation", args.implementation, "--fib-n", str(args.fib_n)))


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=pass_our_options)
    runner.argparser.add_argument("--implementation", choices=IMPLEMENTATIONS, required=True)
    runner.argparser.add_argument("--fib-n", type=int, required=True)
    args = runner.parse_args()
    check_n(args.fib_n)
    fib = load_fib(args.implementation)
    runner.metadata["fib_n"] = args.fib_n
    runner.metadata["implementation"] = args.implementation
    runner.metadata["fib_result"] = fib(args.fib_n)  # one extra call, outside the timed loops
    runner.bench_func(f"fib_{args.implementation}", fib, args.fib_n)


if __name__ == "__main__":
    main()
