"""Run to run (benchmarks/run_to_run.py): two complete runs side by side, from a golden file and a
copy whose requests/s are all 25% higher; the README's block is what the committed latest.json
and previous.json render to."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmarks.readme import README
from benchmarks.results import RESULTS_DIR, Json, load_results
from benchmarks.run_to_run import END, START, run_to_run_section, wrk_changes

GOLDEN = Path(__file__).parent / "data" / "results-golden.json"


def scale(record: Json, factor: float) -> None:
    """The record's requests/s, every repeat and the summary, times `factor`."""
    for repeat in record["repeats"]:
        repeat["requests_per_second"] *= factor
    summary = record["summary"]["requests_per_second"]
    for key in ("median", "min", "max"):
        summary[key] *= factor


@pytest.fixture
def runs() -> tuple[Json, Json]:
    latest = load_results(GOLDEN)
    previous = copy.deepcopy(latest)
    for record in previous["records"]:
        scale(record, 1.25)
    return previous, latest


def test_each_wrk_point_shows_its_change_between_the_runs(runs):
    previous, latest = runs
    changes = wrk_changes(previous, latest)
    assert [(row["variant"], row["n"]) for row in changes] == [
        ("baseline", 0), ("pypy", 0), ("baseline", 20), ("pypy", 20)
    ]  # fmt: skip
    assert all(row["ratio"] == pytest.approx(0.8) for row in changes)
    section = run_to_run_section(previous, latest)
    assert section.count("| −20.0% |") == 4
    assert "moved by a median of 20.0% and at most 20.0%" in section


def test_a_speed_up_that_moved_is_shown_before_and_after(runs):
    previous, latest = runs
    for record in previous["records"]:
        if record["variant"] == "pypy":
            scale(record, 2)
    section = run_to_run_section(previous, latest)
    pypy_rows = [line for line in section.splitlines() if line.startswith("| PyPy")]
    assert len(pypy_rows) == 2
    assert all(" → " in row for row in pypy_rows)
    before, after = pypy_rows[0].split("|")[6].strip().split(" → ")
    assert float(before.rstrip("×")) == pytest.approx(2 * float(after.rstrip("×")), rel=0.01)


def test_without_a_previous_run_there_is_no_block(runs):
    _, latest = runs
    assert run_to_run_section(None, latest) == ""


def test_the_readmes_run_to_run_block_is_generated_from_the_committed_runs():
    previous_path = RESULTS_DIR / "previous.json"
    previous = load_results(previous_path) if previous_path.exists() else None
    expected = run_to_run_section(previous, load_results(RESULTS_DIR / "latest.json"))
    block = README.read_text().split(START, 1)[1].split(END, 1)[0].removeprefix("\n")
    assert block == expected
