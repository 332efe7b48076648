"""One micro-benchmark: a pyperf Runner timing one implementation of fib_recursive(n).

Run by benchmarks/micro.py under each interpreter (CPython 3.11 and PyPy 3.9, so Python 3.9
syntax), with baseline/ and cython-optimized/ on PYTHONPATH:

    python benchmarks/micro_worker.py --implementation python --fib-n 25 -o out.json

pyperf re-executes this script for its worker processes; our own options reach them through
`add_cmdline_args`. (`-n` is pyperf's --values, hence `--fib-n`.)
"""

from __future__ import annotations

import argparse
from typing import Callable

import pyperf

IMPLEMENTATIONS = ("python", "cython")


def load_fib(implementation: str) -> Callable[[int], int]:
    # The app's own function objects, imported from their modules (which also builds the baseline's
    # FastAPI app: about 1 s per process on PyPy). A copy run from a plain dict of globals instead
    # of a module's was 2.4x slower on PyPy: its JIT treats module globals specially.
    if implementation == "cython":
        from fib_cython import fib_recursive
    else:
        from baseline_app import fib_recursive
    return fib_recursive


def pass_our_options(cmd: list[str], args: argparse.Namespace) -> None:
    """Give every worker process the options the manager process was started with."""
    cmd.extend(("--implementation", args.implementation, "--fib-n", str(args.fib_n)))


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=pass_our_options)
    runner.argparser.add_argument("--implementation", choices=IMPLEMENTATIONS, required=True)
    runner.argparser.add_argument("--fib-n", type=int, required=True)
    args = runner.parse_args()
    runner.metadata["fib_n"] = args.fib_n
    runner.metadata["implementation"] = args.implementation
    runner.bench_func(f"fib_{args.implementation}", load_fib(args.implementation), args.fib_n)


if __name__ == "__main__":
    main()
