"""The comparison of two results files: Welch's t-test verdicts and ratios on the same means,
unmatched records, and what a verdict can mean. The two files in tests/data are synthetic
(made-up numbers), like the golden one."""

from __future__ import annotations

import copy
import math
import statistics
from pathlib import Path

import pytest

from benchmarks.compare import (
    FASTER,
    NO_SPREAD,
    NOT_SIGNIFICANT,
    SLOWER,
    TOO_FEW_REPEATS,
    compare,
    compare_records,
    only_in_one,
    render_comparison,
    t_critical,
    verdict,
    welch_t,
)
from benchmarks.formatting import format_number
from benchmarks.records import locust_record
from benchmarks.results import RESULTS_DIR, Json, load_results

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def old() -> Json:
    return load_results(DATA / "results-compare-old.json")


@pytest.fixture
def new() -> Json:
    return load_results(DATA / "results-compare-new.json")


def row_for(rows: list[Json], variant: str, tool: str, n: int | None) -> Json:
    (row,) = [r for r in rows if (r["variant"], r["tool"], r["n"]) == (variant, tool, n)]
    return row


@pytest.mark.parametrize(
    ("old_values", "new_values", "expected"),
    [
        ([500, 510, 520], [600, 610, 620], FASTER),
        ([600, 610, 620], [500, 510, 520], SLOWER),
        ([1000, 1400, 1200], [1100, 1300, 1250], NOT_SIGNIFICANT),
        # Medians differ by 10%, but so do the repeats: not significant.
        ([900, 1000, 1100], [1000, 1100, 1200], NOT_SIGNIFICANT),
        ([500], [600, 610, 620], TOO_FEW_REPEATS),
        ([500, 510], [600], TOO_FEW_REPEATS),
        # Identical repeats measured no noise: a difference cannot be weighed against it.
        ([500, 500], [600, 600], NO_SPREAD),
        ([500, 500], [500, 500], NO_SPREAD),
        # One side's spread is enough for Welch's t (df = 2): t = 100 / sqrt(100/3) = 17.3.
        ([500, 500, 500], [600, 610, 620], FASTER),
    ],
)
def test_verdict(old_values: list[float], new_values: list[float], expected: str) -> None:
    assert verdict(old_values, new_values) == expected


def test_welch_t_by_hand() -> None:
    # Means 510 and 610, variances 100 each over 3 values: se = sqrt(200/3), df = 4.
    t, df = welch_t([500, 510, 520], [600, 610, 620])
    assert t == pytest.approx(100 / math.sqrt(200 / 3))
    assert df == pytest.approx(4)


def test_welch_df_with_unequal_variances() -> None:
    # Variances 1 and 100 over 2 values each: (0.5 + 50)² / (0.5² + 50²) = 1.0199...
    _, df = welch_t([0, math.sqrt(2)], [0, math.sqrt(200)])
    assert df == pytest.approx(50.5**2 / (0.25 + 2500))


@pytest.mark.parametrize(
    ("df", "critical"),
    [
        (0.5, 12.706),
        (1, 12.706),
        (4, 2.776),
        (4.9, 2.776),
        (30, 2.042),
        (45, 2.021),
        (119.9, 2.000),
        (1000, 1.980),
        (math.inf, 1.960),
    ],
)
def test_t_critical_rounds_df_down(df: float, critical: float) -> None:
    assert t_critical(df) == critical


def test_compare_matches_records_and_gives_ratios(old: Json, new: Json) -> None:
    rows = compare(old, new)
    assert [(r["variant"], r["tool"], r["n"]) for r in rows] == [
        ("baseline", "wrk", 0),
        ("pypy", "wrk", 0),
        ("baseline", "wrk", 20),
        ("pypy", "wrk", 20),
        ("baseline", "locust", None),
    ]
    row = row_for(rows, "baseline", "wrk", 20)
    assert (row["old_rps"], row["new_rps"], row["verdict"]) == (510, 610, FASTER)
    assert row["ratio"] == pytest.approx(610 / 510)
    assert row_for(rows, "baseline", "wrk", 0)["verdict"] == SLOWER
    assert row_for(rows, "pypy", "wrk", 20)["verdict"] == NOT_SIGNIFICANT
    # 2,000 and 2,100 requests/s, each three times exactly: no spread, no verdict.
    assert row_for(rows, "pypy", "wrk", 0)["verdict"] == NO_SPREAD
    assert row_for(rows, "baseline", "locust", None)["verdict"] == TOO_FEW_REPEATS


def record(*rps: float) -> Json:
    return {"variant": "baseline", "tool": "wrk", "scenario": "fib", "n": 20, "connections": 16,
            "repeats": [{"requests_per_second": value} for value in rps]}  # fmt: skip


def test_the_ratio_is_of_the_means_the_verdict_tests() -> None:
    # Medians 510 and 610 (ratio 1.196), means 540 and 610 (ratio 1.130).
    row = compare_records(record(500, 510, 610), record(600, 610, 620))
    assert (row["old_rps"], row["new_rps"]) == (540, 610)
    assert row["ratio"] == pytest.approx(610 / 540)


def test_records_in_one_file_only(old: Json, new: Json) -> None:
    only_old, only_new = only_in_one(old, new)
    key = {"tool": "wrk", "scenario": "fib", "n": 20, "connections": 16}
    assert only_old == [{"variant": "cython", **key}]
    assert only_new == [{"variant": "pypy-cython", **key}]
    assert "cython" not in {row["variant"] for row in compare(old, new)}


def test_a_file_compared_with_itself(old: Json) -> None:
    rows = compare(old, old)
    assert all(row["ratio"] == 1 for row in rows)
    assert {row["verdict"] for row in rows} == {NOT_SIGNIFICANT, TOO_FEW_REPEATS, NO_SPREAD}
    assert only_in_one(old, old) == ([], [])


def test_render_comparison_golden(old: Json, new: Json) -> None:
    expected = (DATA / "results-compare-golden.md").read_text()
    assert render_comparison(old, new, "old.json", "new.json") == expected


def test_render_comparison_says_what_a_verdict_cannot_mean(old: Json, new: Json) -> None:
    text = render_comparison(old, new, "old.json", "new.json")
    assert "Welch's t-test of the same means at 95%" in text
    assert "What it cannot mean: that the difference would come back in another run." in text
    assert "so they do not capture run-to-run variance" in text


def test_render_comparison_warns_across_machines(old: Json, new: Json) -> None:
    new["environment"]["machine"]["cpu_model"] = "Another CPU"
    text = render_comparison(old, new, "old.json", "new.json")
    assert "measured on different CPUs or with different pinning" in text


# Locust rows: one run per variant gave no verdict; repeated like wrk, they get one.

COMMITTED = RESULTS_DIR / "latest.json"
BEFORE_LOCUST_REPEATS = DATA / "results-before-locust-repeats.json"  # one Locust run each


def locust_repeat(rps: float) -> Json:
    """A Locust REPEAT as benchmarks/locust_run.py and the sampling make it."""
    return {
        "requests": int(rps * 5),
        "requests_per_second": rps,
        "latency_ms": {"p50": 2.0, "p90": 4.0, "p99": 9.0, "max": 20.0},
        "errors": {"failures": 0},
        "server_cpu_cores": 1.0,
        "load_generator_cpu": 0.5,
    }


def with_locust_runs(results: Json, variant: str, rps: list[float]) -> Json:
    """`results` with the Locust record of `variant` replaced by one of these runs."""
    changed = copy.deepcopy(results)
    kept = [r for r in changed["records"] if (r["variant"], r["tool"]) != (variant, "locust")]
    repeats = [locust_repeat(value) for value in rps]
    changed["records"] = [*kept, locust_record(variant, 16, 5.0, repeats)]
    return changed


@pytest.mark.parametrize(
    ("old_rps", "new_rps", "expected"),
    [
        ([640, 650, 660], [700, 710, 720], FASTER),
        ([700, 710, 720], [640, 650, 660], SLOWER),
        ([600, 700, 650], [640, 660, 690], NOT_SIGNIFICANT),
    ],
)
def test_repeated_locust_rows_get_a_verdict(old_rps, new_rps, expected) -> None:
    reference = load_results(COMMITTED)
    old = with_locust_runs(reference, "baseline", old_rps)
    new = with_locust_runs(reference, "baseline", new_rps)
    row = row_for(compare(old, new), "baseline", "locust", None)
    assert row["verdict"] == expected
    assert row["ratio"] == pytest.approx(statistics.fmean(new_rps) / statistics.fmean(old_rps))
    table = render_comparison(old, new, "old.json", "new.json")
    assert f"| locust mixed, 16 users | {format_number(statistics.fmean(old_rps))} |" in table


def test_a_file_of_single_locust_runs_still_compares() -> None:
    # A reference written before Locust was repeated (one run per variant): against a file
    # with three, no verdict yet.
    old = load_results(BEFORE_LOCUST_REPEATS)
    new = with_locust_runs(old, "pypy", [4400, 4500, 4600])
    assert all(len(r["repeats"]) == 1 for r in old["records"] if r["tool"] == "locust")
    row = row_for(compare(old, new), "pypy", "locust", None)
    assert row["verdict"] == TOO_FEW_REPEATS
