"""The Markdown table of the synthetic golden results file (tests/data, made-up numbers), and
version-1 files read through their upgrade."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import records
from benchmarks.formatting import format_number, format_range, format_seconds
from benchmarks.results import (
    FORMAT_VERSION,
    Json,
    ResultsFormatError,
    load_results,
    upgrade,
)
from benchmarks.table import render_table, write_table
from variants import get_variant

DATA = Path(__file__).resolve().parent / "data"
GOLDEN_RESULTS = DATA / "results-golden.json"
GOLDEN_TABLE = DATA / "results-golden.md"
# The golden file as format version 1 wrote it (before end-of-run memory and timestamps).
GOLDEN_V1 = DATA / "results-golden-v1.json"


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


def test_the_saturated_row_with_an_error_is_flagged_for_both(results: Json) -> None:
    row = wrk_row(render_table(results), "PyPy, pure Python", 0)
    assert row.endswith("| 1 | 0.00100 | 121 | 120 | 1.00 | ⚠ 1 error (timeout 1); the load "
                        "generator used 95% of its cores |")  # fmt: skip


def test_a_single_repeat_is_flagged(results: Json) -> None:
    locust = render_table(results).split("## Mixed scenario")[1]
    row = "| CPython, pure Python | 16 | 800 (800–800) | 10.0 | 90.0 | 0 | ⚠ one repeat, so no "
    assert row + "spread was measured |" in locust


def test_the_high_cv_row_is_flagged(results: Json) -> None:
    row = wrk_row(render_table(results), "PyPy, pure Python", 20)
    assert row.endswith("| ⚠ requests/s varied by 24% (CV) over repeats |")


def test_reliable_rows_are_not_flagged(results: Json) -> None:
    table = render_table(results)
    for n in (0, 20):
        assert "⚠" not in wrk_row(table, "CPython, pure Python", n)
    assert "⚠ marks a row to read with care: it has fewer than two repeats" in table
    assert "or any error (a connection error, a timeout, an answer other than 2xx" in table


def test_rows_show_peak_and_end_of_run_memory(results: Json) -> None:
    # PyPy n=20: peaks 125 and 126 over the repeats, the last repeat ended at 125.
    row = wrk_row(render_table(results), "PyPy, pure Python", 20)
    assert "| 0.950 | 126 | 125 | 1.00 |" in row


def test_the_memory_section_shows_each_variants_peak_and_end(results: Json) -> None:
    memory = render_table(results).split("## Memory per worker")[1].split("\n## ")[0]
    assert "| CPython, pure Python | 41.0 | 40.5 | 43.0 | 42.5 |" in memory
    assert "| PyPy, pure Python | 126 | 125 | 128 | 127 |" in memory
    assert "CPython + Cython" not in memory  # failed before any run: nothing sampled


def test_the_latency_notes_say_the_load_is_closed_loop(results: Json) -> None:
    table = render_table(results)
    for section, clients in (("## Requests per second", "connections"), ("## Mixed", "users")):
        text = table.split(section)[1].split("\n## ")[0]
        assert f"each of the {clients} sends its next request only when" in text
        assert "(coordinated omission)" in text
        assert f"at 16 {clients} on 1 server worker, p50 is mostly queueing" in text


def test_the_warm_up_shows_where_the_plateau_started(results: Json) -> None:
    table = render_table(results)
    # Flat from the first run (at 1.23 s of load); PyPy rose until its third (3.54 s).
    assert "| CPython, pure Python | 20 | 16 | 1.23 s | 6.81 s | 505 |" in table
    assert "| PyPy, pure Python | 20 | 16 | 3.54 s | 9.11 s | 1,195 |" in table
    assert "after the health wait and the contract check, so not from the server's start" in table


def test_a_warm_up_without_plateau_says_so(results: Json) -> None:
    warmup = results["variants"]["pypy"]["warmup"]
    warmup["plateau_reached"], warmup["plateau_start_seconds"] = False, None
    assert "| PyPy, pure Python | 20 | 16 | none in 9.11 s | 9.11 s | 1,195 |" in render_table(
        results
    )


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
    assert "## Requests per second" not in table
    assert "## Micro-benchmark" not in table


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


@pytest.fixture
def v1() -> Json:
    return json.loads(GOLDEN_V1.read_text())


def test_a_version_1_file_is_upgraded_on_load() -> None:
    results = load_results(GOLDEN_V1)
    assert (results["format_version"], results["upgraded_from_version"]) == (FORMAT_VERSION, 1)
    first = results["records"][0]["repeats"][0]
    # Version 1 stored each run's peak; its end was never recorded.
    assert {key: value for key, value in first.items() if "mib" in key} == {
        "uss_mib_per_worker_peak": 40.0,
        "uss_mib_per_worker_end": None,
        "pss_mib_per_worker_peak": 42.0,
        "pss_mib_per_worker_end": None,
    }
    assert results["variants"]["pypy"]["memory"] == {
        "peak_uss_mib_per_worker": 126.0,
        "peak_pss_mib_per_worker": 128.0,
        "end_uss_mib_per_worker": None,
        "end_pss_mib_per_worker": None,
    }
    assert results["variants"]["cython"]["memory"] is None


def test_a_version_1_warm_up_gets_seconds_1_to_len_and_its_plateau_start(v1: Json) -> None:
    curve = [100, 400, 500, 505, 500, 510, 502, 505]
    v1["variants"]["pypy"]["warmup"]["requests_per_second"] = curve
    warmup = upgrade(v1)["variants"]["pypy"]["warmup"]
    assert warmup["seconds"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert (warmup["plateau_reached"], warmup["plateau_start_seconds"]) == (True, 3.0)


def test_a_version_1_summary_is_recomputed_with_todays_flags(v1: Json) -> None:
    results = upgrade(v1)
    locust = results["records"][-1]["summary"]
    assert locust["unreliable"] == ["one repeat, so no spread was measured"]
    assert locust["requests_per_second"]["cv"] is None
    # The compute-time samples were not kept; their summary is.
    assert results["records"][0]["summary"]["compute_time_ms"] == {
        "median": 0.0015, "min": 0.001, "max": 0.002,
    }  # fmt: skip


def test_a_version_1_repeat_counts_2xx_answers_only(v1: Json) -> None:
    first = v1["records"][0]["repeats"][0]  # 12,000 answers at 4,000/s
    first["errors"]["non_2xx"] = 3000
    repeat = upgrade(v1)["records"][0]["repeats"][0]
    assert (repeat["requests"], repeat["requests_per_second"]) == (9000, 3000.0)
    assert repeat["errors"]["non_2xx"] == 3000


def test_upgrading_leaves_the_version_1_data_alone(v1: Json) -> None:
    before = copy.deepcopy(v1)
    upgrade(v1)
    assert v1 == before


def test_a_version_1_table_shows_unknown_end_of_run_memory_as_a_dash() -> None:
    table = render_table(load_results(GOLDEN_V1))
    assert "- Format: written as version 1, which recorded neither end-of-run memory" in table
    assert "| PyPy, pure Python | 126 | — | 128 | — |" in table
    assert "| 0.950 | 126 | — | 1.00 |" in wrk_row(table, "PyPy, pure Python", 20)


def test_an_unknown_version_is_refused(tmp_path: Path, v1: Json) -> None:
    v1["format_version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(v1))
    with pytest.raises(ResultsFormatError, match="format version 99, this code reads 1 and 2"):
        load_results(path)


# The ladder and the whole-machine runs (made-up medians: see tests/data/README.md).


def section(table: str, title: str) -> str:
    return table.split(f"## {title}")[1].split("\n## ")[0]


def ladder_of(table: str, stack: str) -> str:
    """The lines of one stack's ladder, from its title to the next one."""
    ladder = section(table, "Framework ceiling").split(f"### {stack}")[1]
    return ladder.split("\n### ")[0].split("\n\n- ")[0]  # up to the next stack or the sentences


CPYTHON = "CPython 3.11.7 · uvloop + httptools (the variants' stack)"
PYPY_H11 = "PyPy 7.3.11 (Python 3.9.16) · asyncio + h11 (measured beside the chosen httptools)"


def test_each_rung_shows_its_share_of_fastapis_floor_and_its_layers_cost(results: Json) -> None:
    ladder = ladder_of(render_table(results), CPYTHON)
    # 6,000 / 4,000 and 6,000 / 10,000; the variant builds on the floor, its offloaded rung on it.
    assert (
        "| Starlette route | 6,000 (5,940–6,060) | 150% | 0.600× bare ASGI app | 167 |  |" in ladder
    )
    assert (
        "| CPython, pure Python | 3,800 (3,762–3,838) | 95.0% | 0.950× FastAPI's floor |" in ladder
    )
    offloaded = (
        "| CPython, pure Python, every computation in a worker thread | 2,000 (1,980–2,020) "
    )
    assert offloaded + "| 50.0% | 0.526× CPython, pure Python | 500 |  |" in ladder
    assert "| bare ASGI app | 10,000 (9,900–10,100) | 250% | — | 100 |  |" in ladder


def test_a_rung_with_a_wide_spread_is_flagged(results: Json) -> None:
    ladder = ladder_of(render_table(results), "PyPy 7.3.11 (Python 3.9.16) · asyncio + httptools")
    assert "| 240% | — | 83.3 | ⚠ requests/s varied by 25% (CV) over repeats |" in ladder


def test_the_ladder_says_what_the_thread_hand_off_and_the_parser_cost(results: Json) -> None:
    ladder = section(render_table(results), "Framework ceiling")
    assert (
        "- CPython 3.11.7 · uvloop + httptools: handing every computation to a worker thread "
        "costs 47.4% of n=0 throughput (CPython, pure Python: 3,800 → 2,000 requests/s)."
    ) in ladder
    assert "asyncio + httptools: handing every computation to a worker thread costs 66.7%" in ladder
    assert (
        "- PyPy 7.3.11 (Python 3.9.16), httptools against h11: PyPy, pure Python at n=0 serves "
        "1.50× the requests/s (4,500 against 3,000); FastAPI's floor serves 1.25× the "
        "requests/s (5,000 against 4,000)."
    ) in ladder


def test_a_failed_stack_shows_its_error(results: Json) -> None:
    h11 = results["ladder"]["stacks"][2]
    h11["status"], h11["error"], h11["rungs"] = "failed", "pypy asyncio+h11: port in use", []
    table = render_table(results)
    assert (
        ladder_of(table, PYPY_H11).strip() == "Not measured (failed): pypy asyncio+h11: port in use"
    )
    assert "httptools against h11" not in table  # nothing to compare with


def test_an_interrupted_stack_shows_only_its_measured_rungs(results: Json) -> None:
    h11 = results["ladder"]["stacks"][2]
    h11["status"], h11["error"] = "interrupted", "interrupted before it finished"
    for rung in h11["rungs"][3:]:
        rung["summary"] = None
    ladder = ladder_of(render_table(results), PYPY_H11)
    assert "| FastAPI route, same response model | 4,000 (3,960–4,040) | 100% |" in ladder
    assert "PyPy, pure Python" not in ladder
    assert ladder.endswith("\n\nNot measured (interrupted): interrupted before it finished")


def test_the_whole_machine_shows_each_worker_counts_gain(results: Json) -> None:
    cores = section(render_table(results), "Whole machine (workers and cores)")
    assert cores.startswith("\n\nServer and wrk both on CPU 0,1: this machine has no other cores")
    assert "| CPython, pure Python | 1 | 12.5 (12.4–12.6) | 1.00 | 1.00× |  |" in cores
    assert "| CPython, pure Python | 2 | 24.0 (23.8–24.2) | 1.95 | 1.92× |  |" in cores
    # 250 / 130; the failed variant's runs are listed with their error, not as rows.
    assert "| PyPy, pure Python | 2 | 250 (248–253) | 1.90 | 1.92× |  |" in cores
    assert "- CPython + Cython, 2 workers (failed): cython x2: the server never" in cores
    assert "| CPython + Cython |" not in cores


def test_a_file_without_ladder_or_cores_renders_neither(results: Json) -> None:
    del results["ladder"], results["cores"]
    table = render_table(results)
    assert "## Framework ceiling" not in table
    assert "## Whole machine" not in table
    assert "## Variants" in table
    assert "Framework ceiling" not in render_table(load_results(GOLDEN_V1))


# The case study's Locust rows, repeated like wrk's: median (min–max) over the runs


def scoring_repeat(rps: float, errors: Json) -> Json:
    return {
        "requests_per_second": rps,
        "requests": int(rps * 4),
        "latency_ms": {"p50": 2.0, "p90": 4.0, "p99": 9.0, "max": 20.0},
        "errors": errors,
        "server_cpu_cores": 1.0,
        "load_generator_cpu": 0.5,
    }


def with_scoring_locust(results: Json, locust_rps: list[float]) -> Json:
    """`results` with a case study of one measured flavour, its Locust runs at `locust_rps`."""
    bodies = {"seed": 1, "count": 500, "history_length": 50}
    section = records.scoring_section("/score", 16, 4.0, 3, bodies)
    entry = records.scoring_entry(get_variant("scoring"))
    no_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non_2xx": 0}
    wrk = [scoring_repeat(rps, no_errors) for rps in (5000, 5050, 5100)]
    locust = [scoring_repeat(rps, {"failures": 0}) for rps in locust_rps]
    entry["wrk"] = records.scoring_load("wrk", 16, 4.0, wrk)
    entry["locust"] = records.scoring_load("locust", 16, 4.0, locust)
    records.set_status(entry, "measured")
    section["variants"]["scoring"] = entry
    return {**results, "scoring": section}


def scoring_locust_rows(table: str) -> list[str]:
    text = table.split("## Case study")[1].split("The Locust scenario")[1].split("\n## ")[0]
    return [line for line in text.splitlines() if line.startswith("| CPython")]


def test_the_case_studys_locust_runs_show_their_median_and_range(results: Json) -> None:
    table = render_table(with_scoring_locust(results, [5400, 5500, 5450]))
    assert "| Flavour | Users | Runs | Requests/s median (min–max) | p50 ms |" in table
    assert scoring_locust_rows(table) == [
        "| CPython, as written | 16 | 3 × 4 s | 5,450 (5,400–5,500) | 2.00 | 9.00 | 0 |  |"
    ]


def test_a_single_case_study_locust_run_is_flagged(results: Json) -> None:
    (row,) = scoring_locust_rows(render_table(with_scoring_locust(results, [5400])))
    assert row.endswith("| 1 × 4 s | 5,400 (5,400–5,400) | 2.00 | 9.00 | 0 | ⚠ one repeat, so no "
                        "spread was measured |")  # fmt: skip


def test_results_of_single_locust_runs_still_render() -> None:
    # A reference written before Locust was repeated: one run per variant and per flavour, each
    # flagged.
    committed = load_results(Path(__file__).parent / "data" / "results-before-locust-repeats.json")
    table = render_table(committed)
    for name, entry in committed["scoring"]["variants"].items():
        load = entry["locust"]
        assert len(load["repeats"]) == 1, name
        runs = f"| 1 × {format_seconds(load['duration_seconds'])} | "
        shown = format_range(load["summary"]["requests_per_second"])
        assert f"| {entry['display_name']} | 16 {runs}{shown} |" in table
    locust = table.split("## Mixed scenario")[1].split("\n## ")[0]
    assert locust.count("⚠ one repeat, so no spread was measured") == len(committed["variants"])
