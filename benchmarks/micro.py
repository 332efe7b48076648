"""The micro-benchmark: the hot path alone, fib_recursive(n) with no HTTP around it.

Four combinations (COMBINATIONS, what `make bench` measures) run through pyperf
(benchmarks/micro_worker.py) under the interpreter they name: the baseline's pure-Python function
and the Cython build, each on CPython and on PyPy (where the Cython module goes through cpyext).
ARTICLE_COMBINATIONS separates the two changes of the article's pure-Python-mode example: the same
recursion in Cython's pure Python mode (cython-optimized/fib_pure.py) compiled and uncompiled,
and the iterative algorithm in plain Python (baseline/fib_iterative.py) on both interpreters.
`python -m benchmarks.micro --set article` measures it. A last row is the same recursion in plain
C on int64_t (benchmarks/c/fib.c), compiled by gcc with the flags cython-optimized/setup.py adds to
each interpreter's own (COMPILE_FLAGS from cython-optimized/cython_build_flags.py; the row's name
shows them). With the same flags gcc compiles the C fib and the extension's _fib to the same
instructions (tests/test_micro.py checks it), so the rows differ only in what calls that code: the
C row is the floor the Cython rows approach, and the interpreted rows say how far above it each
interpreter lands. Like pyperf, the C program reports each value as the mean of a calibrated
batch of calls. Every row also carries the value fib(n) that it computed, as "result".

n is checked by whatever computes: micro_worker.py and the C program refuse an n whose result a
signed 64-bit integer cannot hold, with their own message, which lands in "error".

Pinning (`cpus`) is done by setting the affinity of the process we start: Linux passes the mask on
to every process it spawns, pyperf's workers included. pyperf's own --affinity cannot be used for
PyPy: it needs os.sched_setaffinity or psutil, and PyPy 3.9 has neither (psutil's extension does
not load there), so pyperf exits with "CPU affinity not available". CPython's command also gets
--affinity, so that pyperf does not move its workers to isolated CPUs if the kernel has any.

Warm-up: when pyperf detects a JIT it runs fewer processes with more values each (6 x 10 instead
of 20 x 3), but Runner's default still skips only one value per process. Its warm-up calibration
(Runner(warmups=None)) took 50-65 s per combination on a shared 2-core machine, far over the
budget, while the JIT is warm after the first ~0.1 s value here; so PyPy's commands ask for a few
warm-up values explicitly.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyperf

from cython_build_flags import COMPILE_FLAGS
from processes import ProcessError, run_group
from variants import INTERPRETERS, ROOT

Json = dict[str, Any]

WORKER = ROOT / "benchmarks" / "micro_worker.py"
C_SOURCE = ROOT / "benchmarks" / "c" / "fib.c"
JIT_WARMUPS = 3  # values PyPy skips per process; its JIT is warm after the first one here
FAST_MIN_TIME = 0.05  # seconds per value; pyperf's default is 0.1
FAST_PROCESSES = 3  # pyperf's default: 20 on CPython, 6 under a JIT
FAST_VALUES = 3  # per process; pyperf's default: 3 on CPython, 10 under a JIT
C_REPEATS = 60  # as many values as pyperf's default run collects; each takes >= 10 ms
C_REPEATS_FAST = 20
TIMEOUT_SECONDS = 300  # per command; a whole combination takes 10-20 s here
# "ValueError: ...", "ModuleNotFoundError: ...", pyperf's "ERROR: ..."
_REASON_LINE = re.compile(r"^(ERROR: |[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt): )")


C_FLAGS = list(COMPILE_FLAGS)
C_NAME = f"C (gcc {' '.join(C_FLAGS)})"


# The results file's "implementation" for each of micro_worker's --implementation values; the
# first two are what the apps report.
IMPLEMENTATION_LABELS = {
    "python": "python-recursive",
    "cython": "cython-recursive",
    "pure-compiled": "cython-pure-recursive",
    "pure-uncompiled": "python-pure-recursive",
    "iterative": "python-iterative",
}


@dataclass(frozen=True)
class Combination:
    name: str
    interpreter: str  # a key of variants.INTERPRETERS
    implementation: str  # micro_worker's --implementation: a key of IMPLEMENTATION_LABELS

    @property
    def label(self) -> str:
        """The results file's "implementation"."""
        return IMPLEMENTATION_LABELS[self.implementation]


COMBINATIONS: tuple[Combination, ...] = (
    Combination("Python on CPython", "cpython", "python"),
    Combination("Python on PyPy", "pypy", "python"),
    Combination("Cython on CPython", "cpython", "cython"),
    Combination("Cython on PyPy", "pypy", "cython"),
)

# The article's pure-Python-mode example changes the compiler and the algorithm at once; these rows
# show each change alone (the C row, the recursion in C, follows them as in every run).
ARTICLE_COMBINATIONS: tuple[Combination, ...] = (
    Combination("Python, recursive, on CPython", "cpython", "python"),
    Combination("Python, recursive, on PyPy", "pypy", "python"),
    Combination("Cython .pyx, recursive, on CPython", "cpython", "cython"),
    Combination("Cython pure mode compiled, recursive, on CPython", "cpython", "pure-compiled"),
    Combination("Cython pure mode uncompiled, recursive, on CPython", "cpython", "pure-uncompiled"),
    Combination("Python, iterative, on CPython", "cpython", "iterative"),
    Combination("Python, iterative, on PyPy", "pypy", "iterative"),
)
COMBINATION_SETS = {"default": COMBINATIONS, "article": ARTICLE_COMBINATIONS}


class MicroError(RuntimeError):
    """One combination could not be measured; the message says why."""


def micro_command(
    combination: Combination,
    n: int,
    output: Path,
    fast: bool = False,
    cpus: set[int] | None = None,
    interpreters: Mapping[str, Path] | None = None,
) -> list[str]:
    """The pyperf command line that measures `combination` and writes its JSON to `output`."""
    interpreter = (interpreters or INTERPRETERS)[combination.interpreter]
    command = [
        str(interpreter),
        str(WORKER),
        "--implementation",
        combination.implementation,
        "--fib-n",
        str(n),
        "--output",
        str(output),
        "--quiet",
    ]
    if fast:
        # A smoke run: a few processes of a few short values each (pyperf's own --fast still
        # runs 10 processes on CPython); pyperf rounds loops up to a power of two, so a value
        # takes 1-2x FAST_MIN_TIME.
        command.extend(("--processes", str(FAST_PROCESSES), "--values", str(FAST_VALUES)))
        command.extend(("--min-time", str(FAST_MIN_TIME)))
    if combination.interpreter == "pypy":
        command.extend(("--warmups", str(JIT_WARMUPS)))
    elif cpus:
        command.append(f"--affinity={format_cpus(cpus)}")
    return command


def c_compile_command(binary: Path) -> list[str]:
    # The extension's flags, so the two differ only in their callers; -Wall changes no code.
    return ["gcc", *C_FLAGS, "-Wall", "-o", str(binary), str(C_SOURCE)]


def c_run_command(binary: Path, n: int, repeats: int) -> list[str]:
    return [str(binary), str(n), str(repeats)]


def format_cpus(cpus: set[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def run_pinned(command: list[str], cpus: set[int] | None, timeout: float) -> str:
    """Run `command` from the repository root, on `cpus` if given; its stdout, or MicroError.
    It runs in a process group of its own, so a timeout stops pyperf's workers along with it."""
    try:
        completed = run_group(command, timeout=timeout, cpus=cpus, cwd=ROOT)
    except ProcessError as error:
        raise MicroError(str(error)) from None
    if completed.returncode != 0:
        reason = failure_reason(completed.stderr + "\n" + completed.stdout)
        raise MicroError(f"exit status {completed.returncode}: {reason}")
    return completed.stdout


def failure_reason(output: str) -> str:
    """What a failed command's output says went wrong, on one line: its exception lines and
    pyperf's "ERROR:" lines (a worker's own error comes before the manager's "failed with exit
    code"), or else its last lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    reasons = [line for line in lines if _REASON_LINE.match(line)] or lines[-3:]
    return " / ".join(dict.fromkeys(reasons)) or "no output"


def result_row(
    name: str, interpreter: str, implementation: str, result: int, values: list[float]
) -> Json:
    return {
        "name": name,
        "interpreter": interpreter,
        "implementation": implementation,
        "result": result,
        "mean_seconds": statistics.mean(values),
        "stdev_seconds": statistics.stdev(values) if len(values) > 1 else 0.0,
        "values": values,
    }


def measure_combination(
    combination: Combination,
    n: int,
    work_dir: Path,
    fast: bool,
    cpus: set[int] | None,
    interpreters: Mapping[str, Path] | None,
) -> Json:
    output = work_dir / f"{combination.interpreter}-{combination.implementation}.json"
    output.unlink(missing_ok=True)  # pyperf refuses to overwrite its output
    command = micro_command(combination, n, output, fast, cpus, interpreters)
    run_pinned(command, cpus, TIMEOUT_SECONDS)
    benchmark = pyperf.Benchmark.load(str(output))
    values = list(benchmark.get_values())
    result = fib_result(benchmark)
    return result_row(combination.name, combination.interpreter, combination.label, result, values)


def fib_result(benchmark: pyperf.Benchmark) -> int:
    """The fib(n) every worker process computed (micro_worker's "fib_result" metadata)."""
    # get_metadata() keeps only what all runs agree on: a missing key means they disagreed.
    result = benchmark.get_metadata().get("fib_result")
    if not isinstance(result, int):
        raise MicroError(f"the workers reported no common fib_result (got {result!r})")
    return result


def compile_c(work_dir: Path) -> Path:
    """benchmarks/c/fib.c built with gcc and C_FLAGS into `work_dir`; the binary's path."""
    if shutil.which("gcc") is None:
        raise MicroError("gcc not found")
    binary = work_dir / "fib-c"
    run_pinned(c_compile_command(binary), None, TIMEOUT_SECONDS)
    return binary


def run_c(binary: Path, n: int, repeats: int, cpus: set[int] | None = None) -> Json:
    """The C program's report: {"n", "result" (fib(n)), "loops", "values" (seconds per call)}."""
    return json.loads(run_pinned(c_run_command(binary, n, repeats), cpus, TIMEOUT_SECONDS))


def measure_c(n: int, work_dir: Path, fast: bool, cpus: set[int] | None) -> Json:
    report = run_c(compile_c(work_dir), n, C_REPEATS_FAST if fast else C_REPEATS, cpus)
    values = [float(value) for value in report["values"]]
    return result_row(C_NAME, "c", "c-recursive", report["result"], values)


def run_micro(
    n: int = 25,
    fast: bool = False,
    cpus: set[int] | None = None,
    work_dir: Path | None = None,
    on_step: Callable[[str], None] | None = None,
    interpreters: Mapping[str, Path] | None = None,
    combinations: Sequence[Combination] = COMBINATIONS,
) -> Json:
    """Measure fib(n) in each of `combinations` (by default the four of `make bench`), then in C:
    the results file's "micro".

    `work_dir` keeps pyperf's JSON files and the C binary (a temporary folder otherwise);
    `interpreters` replaces variants.INTERPRETERS. A combination that fails is left out of
    "results" and named, with the reason, in "error"; the others are still measured.
    """
    if cpus is not None and not cpus:
        raise ValueError("cpus must name at least one CPU (or be None for no pinning)")
    check_combinations(combinations)
    with tempfile.TemporaryDirectory(prefix="micro-") as temporary:
        folder = Path(work_dir) if work_dir is not None else Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        steps: list[tuple[str, Callable[[], Json]]] = [
            (c.name, partial(measure_combination, c, n, folder, fast, cpus, interpreters))
            for c in combinations
        ]
        steps.append((C_NAME, partial(measure_c, n, folder, fast, cpus)))
        results, errors = [], []
        for name, measure in steps:
            if on_step is not None:
                on_step(name)
            try:
                results.append(measure())
            # Whatever goes wrong in one combination must not cost the others their results.
            except Exception as error:
                errors.append(f"{name}: {describe(error)}")
    return {"n": n, "results": results, "error": "; ".join(errors) or None}


def check_combinations(combinations: Sequence[Combination]) -> None:
    """Each combination writes pyperf's file under its interpreter and implementation (see
    measure_combination), so two with the same pair would measure one and report it twice."""
    unknown = [c.name for c in combinations if c.implementation not in IMPLEMENTATION_LABELS]
    if unknown:
        raise ValueError(f"unknown implementation in {', '.join(unknown)}")
    pairs = [(c.interpreter, c.implementation) for c in combinations]
    repeated = sorted({f"{i}/{m}" for i, m in pairs if pairs.count((i, m)) > 1})
    if repeated:
        raise ValueError(f"combinations repeat an interpreter and implementation: {repeated}")


def describe(error: Exception) -> str:
    if isinstance(error, MicroError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m benchmarks.micro --set article`: one set measured on its own, its table printed
    and, with --out, its "micro" section written as JSON (the reference results stay as they are).
    """
    from benchmarks.table_variants import micro_section

    parser = argparse.ArgumentParser(description="the hot path alone, without HTTP (pyperf)")
    parser.add_argument("--set", choices=sorted(COMBINATION_SETS), default="default")
    parser.add_argument("--n", type=int, default=25)
    parser.add_argument("--fast", action="store_true", help="a short smoke run")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    combinations = COMBINATION_SETS[args.set]
    result = run_micro(args.n, args.fast, on_step=print, combinations=combinations)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(micro_section({"micro": result})))


if __name__ == "__main__":
    main()
