"""One micro-benchmark: a pyperf Runner timing one implementation of fib_recursive(n).

Run by benchmarks/micro.py under each interpreter (CPython 3.11 and PyPy 3.9, so Python 3.9
syntax; the apps' folders are on its import path through the .pth file `make setup` installs):

    python benchmarks/micro_worker.py --implementation python --fib-n 25 -o out.json

pyperf re-executes this script for its worker processes; our own options reach them through
`add_cmdline_args`. (`-n` is pyperf's --values, hence `--fib-n`.) Every process records the value
fib_recursive(n) returned as the metadata "fib_result", so the caller can check what was timed.
"""

from __future__ import annotations

import argparse
from typing import Callable

import pyperf

from baseline.fib_settings import FIB_MAX_N_LIMIT

IMPLEMENTATIONS = ("python", "cython")


def load_fib(implementation: str) -> Callable[[int], int]:
    # The app's own function objects, imported from their modules (which also builds the baseline's
    # FastAPI app: about 1 s per process on PyPy). A copy run from a plain dict of globals instead
    # of a module's was 2.4x slower on PyPy: its JIT treats module globals specially.
    if implementation == "cython":
        from fib_cython import fib_recursive
    else:
        from baseline.baseline_app import fib_recursive
    return fib_recursive


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
