"""The micro-benchmark for real: pyperf under both interpreters, the Cython builds, gcc and the C
program all run. Only the amount of work is small (fast mode, small n), so no timing is asserted,
only that every row was measured, and that a missing interpreter costs only its own rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import micro
from variants import INTERPRETERS

EXPECTED_ROWS = {
    "Python on CPython": ("cpython", "python-recursive"),
    "Python on PyPy": ("pypy", "python-recursive"),
    "Cython on CPython": ("cpython", "cython-recursive"),
    "Cython on PyPy": ("pypy", "cython-recursive"),
    "C (gcc -O2)": ("c", "c-recursive"),
}


@pytest.fixture(scope="module")
def fast_run() -> tuple[dict, list[str]]:
    steps: list[str] = []
    return micro.run_micro(n=15, fast=True, on_step=steps.append), steps


def test_fast_run_measures_all_five_rows(fast_run: tuple[dict, list[str]]) -> None:
    micro_result, _ = fast_run
    assert micro_result["error"] is None
    assert micro_result["n"] == 15
    rows = {row["name"]: row for row in micro_result["results"]}
    assert list(rows) == list(EXPECTED_ROWS)
    for name, (interpreter, implementation) in EXPECTED_ROWS.items():
        row = rows[name]
        assert (row["interpreter"], row["implementation"]) == (interpreter, implementation)
        assert row["mean_seconds"] > 0
        assert row["stdev_seconds"] >= 0
        assert len(row["values"]) >= 2
        assert all(value > 0 for value in row["values"])


def test_progress_is_reported_before_each_row(fast_run: tuple[dict, list[str]]) -> None:
    _, steps = fast_run
    assert steps == list(EXPECTED_ROWS)


def test_c_program_computes_fib_exactly(tmp_path: Path) -> None:
    report = micro.run_c(micro.compile_c(tmp_path), n=20, repeats=3)
    assert report["n"] == 20
    assert report["result"] == 6765
    assert report["loops"] >= 1
    assert len(report["values"]) == 3
    assert all(value > 0 for value in report["values"])


def test_c_program_rejects_bad_arguments(tmp_path: Path) -> None:
    binary = micro.compile_c(tmp_path)
    with pytest.raises(micro.MicroError, match="usage"):
        micro.run_c(binary, n=93, repeats=1)


def test_commands_carry_the_options_workers_need(tmp_path: Path) -> None:
    pypy_python, cpython_cython = micro.COMBINATIONS[1], micro.COMBINATIONS[2]
    output = tmp_path / "out.json"

    pypy = micro.micro_command(pypy_python, 25, output, fast=True, cpus={1})
    assert pypy[:2] == [str(INTERPRETERS["pypy"]), str(micro.WORKER)]
    assert pypy[pypy.index("--implementation") + 1] == "python"
    assert pypy[pypy.index("--fib-n") + 1] == "25"
    assert pypy[pypy.index("--output") + 1] == str(output)
    assert pypy[pypy.index("--warmups") + 1] == str(micro.JIT_WARMUPS)
    assert "--fast" in pypy
    assert not any(part.startswith("--affinity") for part in pypy)  # PyPy cannot pin itself

    cpython = micro.micro_command(cpython_cython, 25, output, cpus={1, 0})
    assert cpython[0] == str(INTERPRETERS["cpython"])
    assert cpython[cpython.index("--implementation") + 1] == "cython"
    assert "--affinity=0,1" in cpython
    assert "--warmups" not in cpython
    assert "--fast" not in cpython


def test_a_broken_interpreter_costs_only_its_own_rows(tmp_path: Path) -> None:
    broken = tmp_path / "no-such-pypy" / "bin" / "python"
    interpreters = {"cpython": INTERPRETERS["cpython"], "pypy": broken}

    micro_result = micro.run_micro(n=15, fast=True, interpreters=interpreters)

    names = [row["name"] for row in micro_result["results"]]
    assert names == ["Python on CPython", "Cython on CPython", "C (gcc -O2)"]
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
