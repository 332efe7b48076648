"""The Markdown report of the synthetic golden results file (tests/data, made-up numbers)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmarks.report import format_number, render_table, write_table
from benchmarks.results import Json, load_results

DATA = Path(__file__).resolve().parent / "data"
GOLDEN_RESULTS = DATA / "results-golden.json"
GOLDEN_TABLE = DATA / "results-golden.md"


@pytest.fixture
def results() -> Json:
    return load_results(GOLDEN_RESULTS)


def wrk_row(table: str, variant: str, n: int) -> str:
    """The line of the wrk table for `variant` (display name) at `n`."""
    wrk_section = table.split("## Requests per second")[1].split("\n## ")[0]
    prefix = f"| {variant} | {n} | "
    rows = [line for line in wrk_section.splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, rows
    return rows[0]


def test_the_golden_file_renders_to_the_golden_table(results: Json) -> None:
    assert render_table(results) == GOLDEN_TABLE.read_text()


def test_rendering_twice_gives_the_same_text(results: Json) -> None:
    assert render_table(results) == render_table(copy.deepcopy(results))


def test_write_table_writes_the_rendered_table(tmp_path: Path) -> None:
    out = tmp_path / "results" / "latest.md"
    assert write_table(GOLDEN_RESULTS, out) == out
    assert out.read_text() == GOLDEN_TABLE.read_text()


def test_speed_up_is_the_ratio_of_medians_at_the_same_load(results: Json) -> None:
    table = render_table(results)
    # 1200 / 510 = 2.353 (pypy n=20 over baseline n=20), not the ratio of the means or of n=0.
    assert "| 1,200 (1,000–1,400) | 2.35× |" in wrk_row(table, "PyPy, pure Python", 20)
    assert "| 4,050 (4,000–4,100) | 1.00× |" in wrk_row(table, "CPython, pure Python", 0)


def test_speed_up_is_a_dash_without_a_baseline_row(results: Json) -> None:
    results["records"] = [r for r in results["records"] if r["variant"] != "baseline"]
    assert "| 1,200 (1,000–1,400) | — |" in wrk_row(render_table(results), "PyPy, pure Python", 20)


def test_the_failed_variant_shows_its_error(results: Json) -> None:
    table = render_table(results)
    assert "| cython-recursive | failed (0 of 1 checks) | failed |" in table
    error = "verification failed: GET /fib/10 is exact: result 56, expected 55"
    assert f"- CPython + Cython (failed): {error}" in table


def test_the_saturated_row_is_flagged(results: Json) -> None:
    row = wrk_row(render_table(results), "PyPy, pure Python", 0)
    assert row.endswith("| ⚠ the load generator used 95% of its cores |")


def test_the_high_cv_row_is_flagged(results: Json) -> None:
    row = wrk_row(render_table(results), "PyPy, pure Python", 20)
    assert row.endswith("| ⚠ requests/s varied by 24% (CV) over repeats |")


def test_reliable_rows_are_not_flagged(results: Json) -> None:
    table = render_table(results)
    for n in (0, 20):
        assert "⚠" not in wrk_row(table, "CPython, pure Python", n)
    assert "⚠ marks a row to read with care" in table


def test_a_warm_up_without_plateau_says_so(results: Json) -> None:
    results["variants"]["pypy"]["warmup"]["plateau_reached"] = False
    assert "| PyPy, pure Python | 20 | 16 | no plateau | 505 |" in render_table(results)


def test_the_micro_benchmark_is_relative_to_c(results: Json) -> None:
    table = render_table(results)
    assert "| Python on CPython | 15.0 ± 0.300 | 100× |" in table
    assert "| C (gcc -O2) | 0.150 ± 0.00400 | 1.00× |" in table


def test_a_micro_benchmark_error_is_shown(results: Json) -> None:
    results["micro"] = {"n": 25, "results": [], "error": "pyperf failed under PyPy"}
    assert "Micro-benchmark error: pyperf failed under PyPy" in render_table(results)


def test_no_records_and_no_micro_still_render(results: Json) -> None:
    results["records"], results["micro"] = [], None
    table = render_table(results)
    assert "## Variants" in table
    assert "wrk" not in table.split("## Variants")[1]


def test_a_pipe_in_an_error_does_not_break_the_table(results: Json) -> None:
    results["variants"]["cython"]["error"] = "a | b\nc"
    assert "- CPython + Cython (failed): a \\| b c" in render_table(results)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4050.0, "4,050"),
        (510, "510"),
        (120.5, "121"),
        (99.96, "100"),
        (45.75, "45.8"),
        (39.0, "39.0"),
        (3.8499999999999996, "3.85"),
        (0.0015, "0.00150"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_format_number(value: float | None, text: str) -> None:
    assert format_number(value) == text
