"""The micro-benchmark for real: pyperf under both interpreters, the Cython builds, gcc and the C
program all run. Only the amount of work is small (fast mode, small n). Every row must have computed
the exact Fibonacci number and report the statistics of its own values; the workers must have run
as their commands asked; the C reference must compile to the extension's own instructions; and a
missing interpreter or a bad n costs only what it must, with a message that says why.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import fib_cython
import pyperf
import pytest

import fib_pure
from benchmarks import micro, micro_worker
from variants import INTERPRETERS

N = 15
FIB_15 = 610
FIB_20 = 6765
EXPECTED_ROWS = {
    "Python on CPython": ("cpython", "python-recursive"),
    "Python on PyPy": ("pypy", "python-recursive"),
    "Cython on CPython": ("cpython", "cython-recursive"),
    "Cython on PyPy": ("pypy", "cython-recursive"),
    "C (gcc -O3 -fwrapv)": ("c", "c-recursive"),
}
PYPERF_DEFAULT_WARMUPS = 1  # what a CPython worker skips when its command passes no --warmups


@dataclass(frozen=True)
class FastRun:
    result: dict
    steps: list[str]
    work_dir: Path
    cpu: int


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> FastRun:
    steps: list[str] = []
    cpu = max(os.sched_getaffinity(0))
    work_dir = tmp_path_factory.mktemp("micro")
    result = micro.run_micro(n=N, fast=True, cpus={cpu}, work_dir=work_dir, on_step=steps.append)
    return FastRun(result, steps, work_dir, cpu)


def rows_by_name(run: FastRun) -> dict[str, dict]:
    return {row["name"]: row for row in run.result["results"]}


def pyperf_file(run: FastRun, combination: micro.Combination) -> pyperf.Benchmark:
    path = run.work_dir / f"{combination.interpreter}-{combination.implementation}.json"
    return pyperf.Benchmark.load(str(path))


def test_fast_run_measures_all_five_rows_of_the_exact_result(fast_run: FastRun) -> None:
    assert fast_run.result["error"] is None
    assert fast_run.result["n"] == N
    rows = rows_by_name(fast_run)
    assert list(rows) == list(EXPECTED_ROWS)
    for name, (interpreter, implementation) in EXPECTED_ROWS.items():
        row = rows[name]
        assert (row["interpreter"], row["implementation"]) == (interpreter, implementation)
        assert row["result"] == FIB_15, name
        assert len(row["values"]) >= 2
        assert all(value > 0 for value in row["values"])
        assert row["mean_seconds"] == statistics.mean(row["values"])
        assert row["stdev_seconds"] == statistics.stdev(row["values"])


def test_progress_is_reported_before_each_row(fast_run: FastRun) -> None:
    assert fast_run.steps == list(EXPECTED_ROWS)


def test_the_workers_ran_as_their_commands_asked(fast_run: FastRun) -> None:
    for combination in micro.COMBINATIONS:
        benchmark = pyperf_file(fast_run, combination)
        metadata = benchmark.get_metadata()
        assert metadata["python_implementation"] == combination.interpreter
        # The first run of each process only calibrates; the others skip warm-up values.
        warmups = {len(run.warmups or ()) for run in benchmark.get_runs() if run.values}
        # PyPy's rows exist at all only because their command has no --affinity, which makes
        # pyperf exit there: the fixture passes `cpus`.
        if combination.interpreter == "pypy":
            assert warmups == {micro.JIT_WARMUPS}
        else:
            assert warmups == {PYPERF_DEFAULT_WARMUPS}
            assert metadata["cpu_affinity"] == str(fast_run.cpu)


@pytest.fixture(scope="module")
def c_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return micro.compile_c(tmp_path_factory.mktemp("c"))


@pytest.mark.parametrize(("n", "expected"), [(0, 0), (1, 1), (2, 1), (20, FIB_20)])
def test_c_program_computes_fib_exactly(c_binary: Path, n: int, expected: int) -> None:
    report = micro.run_c(c_binary, n=n, repeats=3)
    assert (report["n"], report["result"]) == (n, expected)
    assert len(report["values"]) == 3
    assert all(value > 0 for value in report["values"])


@pytest.mark.parametrize("n", [-1, 93])
def test_c_program_rejects_bad_arguments(c_binary: Path, n: int) -> None:
    with pytest.raises(micro.MicroError, match=r"usage: .* \(0 <= N <= 92,"):
        micro.run_c(c_binary, n=n, repeats=1)


def disassembly(binary: str, symbol: str) -> list[str]:
    """`symbol`'s instructions, with jump and call targets as offsets into the function."""
    output = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}", binary],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    instructions = re.findall(r"^\s*[0-9a-f]+:\s+(.+)$", output, flags=re.MULTILINE)
    target = re.compile(r"[0-9a-f]+ <[^>+]+(\+0x[0-9a-f]+)?>")
    return [target.sub(lambda m: f"<{m.group(1) or '+0x0'}>", line) for line in instructions]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_c_reference_compiles_to_the_extensions_instructions(c_binary: Path) -> None:
    # Same flags and same algorithm give the same code: the C row differs only in its caller.
    # A stale extension (setup.py changed, `make setup` not rerun) fails here too.
    c_fib = disassembly(str(c_binary), "fib")
    cython_fib = disassembly(fib_cython.__file__, "__pyx_f_10fib_cython__fib")
    assert len(c_fib) > 10
    assert c_fib == cython_fib


def test_a_bad_n_is_refused_by_each_row_with_its_own_message() -> None:
    micro_result = micro.run_micro(n=93, fast=True)

    assert micro_result["results"] == []
    errors = micro_result["error"].split("; ")
    assert [error.split(":")[0] for error in errors] == list(EXPECTED_ROWS)
    for error in errors[:4]:
        assert "ValueError: --fib-n must be from 0 to 92, got 93" in error
    assert re.search(r"usage: .* \(0 <= N <= 92,", errors[4])


def test_a_broken_interpreter_costs_only_its_own_rows(tmp_path: Path) -> None:
    broken = tmp_path / "no-such-pypy" / "bin" / "python"
    interpreters = {"cpython": INTERPRETERS["cpython"], "pypy": broken}

    micro_result = micro.run_micro(n=N, fast=True, interpreters=interpreters)

    names = [row["name"] for row in micro_result["results"]]
    assert names == ["Python on CPython", "Cython on CPython", "C (gcc -O3 -fwrapv)"]
    assert [row["result"] for row in micro_result["results"]] == [FIB_15] * 3
    error = micro_result["error"]
    assert error is not None
    assert "Python on PyPy" in error
    assert "Cython on PyPy" in error
    assert str(broken) in error


def test_failure_reason_finds_the_workers_error_in_pyperfs_traceback() -> None:
    output = "\n".join(
        (
            "Traceback (most recent call last):",
            '  File "fib_cython.pyx", line 28, in fib_cython.fib_recursive',
            "ValueError: n must be from 0 to 92 (a signed 64-bit result), got 95",
            "Traceback (most recent call last):",
            '    raise RuntimeError("%s failed with exit code %s"',
            "RuntimeError: .venv/pypy/bin/python failed with exit code 1",
        )
    )
    assert micro.failure_reason(output) == (
        "ValueError: n must be from 0 to 92 (a signed 64-bit result), got 95"
        " / RuntimeError: .venv/pypy/bin/python failed with exit code 1"
    )
    assert micro.failure_reason("just\nsome\noutput\nhere") == "some / output / here"
    assert micro.failure_reason("") == "no output"


ARTICLE_ROWS = {
    "Python, recursive, on CPython": ("cpython", "python-recursive"),
    "Python, recursive, on PyPy": ("pypy", "python-recursive"),
    "Cython .pyx, recursive, on CPython": ("cpython", "cython-recursive"),
    "Cython pure mode compiled, recursive, on CPython": ("cpython", "cython-pure-recursive"),
    "Cython pure mode uncompiled, recursive, on CPython": ("cpython", "python-pure-recursive"),
    "Python, iterative, on CPython": ("cpython", "python-iterative"),
    "Python, iterative, on PyPy": ("pypy", "python-iterative"),
    "C (gcc -O3 -fwrapv)": ("c", "c-recursive"),
}


def test_article_combinations_each_measure_the_exact_result(tmp_path: Path) -> None:
    combinations = micro.ARTICLE_COMBINATIONS
    result = micro.run_micro(n=N, fast=True, work_dir=tmp_path, combinations=combinations)

    assert result["error"] is None
    rows = {row["name"]: row for row in result["results"]}
    assert list(rows) == list(ARTICLE_ROWS)
    for name, (interpreter, implementation) in ARTICLE_ROWS.items():
        row = rows[name]
        assert (row["interpreter"], row["implementation"]) == (interpreter, implementation)
        assert row["result"] == FIB_15, name
        assert row["mean_seconds"] == statistics.mean(row["values"]) > 0
    # Each worker loaded what its row names (micro_worker refuses a pure-mode module that is
    # compiled when asked for the source, or the reverse).
    for combination in combinations:
        path = tmp_path / f"{combination.interpreter}-{combination.implementation}.json"
        metadata = pyperf.Benchmark.load(str(path)).get_metadata()
        assert metadata["implementation"] == combination.implementation
        assert metadata["python_implementation"] == combination.interpreter


def test_combinations_that_would_share_a_pyperf_file_are_refused() -> None:
    twice = (micro.COMBINATIONS[0], micro.Combination("Again", "cpython", "python"))
    with pytest.raises(
        ValueError, match=r"repeat an interpreter and implementation.*cpython/python"
    ):
        micro.run_micro(n=N, fast=True, combinations=twice)
    unknown = (micro.Combination("Made up", "cpython", "numba"),)
    with pytest.raises(ValueError, match="unknown implementation in Made up"):
        micro.run_micro(n=N, fast=True, combinations=unknown)


def test_the_worker_refuses_a_pure_mode_module_that_is_not_the_one_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert micro_worker.load_pure_mode(compiled=True) is fib_pure.fib_recursive
    uncompiled = micro_worker.load_pure_mode(compiled=False)
    assert uncompiled is fib_pure.load_uncompiled().fib_recursive
    monkeypatch.setattr(fib_pure, "COMPILED", False)  # as where no extension was built
    with pytest.raises(RuntimeError, match=r"fib_pure from .*fib_pure\..*so is not compiled"):
        micro_worker.load_pure_mode(compiled=True)
