"""The article's headline test: the claims' arithmetic, the sizing of the wrk run, the Markdown
beside the article's table (against a small fixture section), and one real run of the quick preset
against real servers on free ports."""

from __future__ import annotations

import copy
import dataclasses
import json
import os

import pytest

from benchmarks import article_headline
from benchmarks.article_claims import (
    ARTICLE_SETTINGS,
    ARTICLE_TITLE,
    CLAIMED_ROWS,
    claimed_ceiling_rps,
    claimed_row,
)
from benchmarks.article_doc import headline_reading, headline_table
from benchmarks.article_headline import HeadlineOptions, headline_plan, measure_headline
from benchmarks.planning import BenchmarkError
from variants import variant_names

# The claims


def test_the_article_rows_map_to_the_four_variants_in_order():
    assert [row.variant for row in CLAIMED_ROWS] == variant_names()
    assert [row.requests_per_second for row in CLAIMED_ROWS] == [12_450, 16_820, 17_950, 21_430]
    assert ARTICLE_SETTINGS.path == f"/fib/{ARTICLE_SETTINGS.n}" == "/fib/35"
    assert (ARTICLE_SETTINGS.connections, ARTICLE_SETTINGS.wrk_threads) == (100, 4)
    assert (ARTICLE_SETTINGS.duration_seconds, ARTICLE_SETTINGS.workers) == (30, 4)
    assert ARTICLE_TITLE.startswith("How to Optimize Python 3.15 FastAPI Apps by 40%")


def test_a_claimed_row_cannot_be_changed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CLAIMED_ROWS[0].requests_per_second = 1  # type: ignore[misc]


def test_the_ceiling_is_workers_over_the_compute_time():
    ceilings = [claimed_ceiling_rps(row) for row in CLAIMED_ROWS]
    assert ceilings == pytest.approx([4 / 2.14, 50.0, 4 / 0.12, 80.0])
    assert claimed_ceiling_rps(claimed_row("baseline")) == pytest.approx(1.8692, abs=1e-4)
    assert claimed_ceiling_rps(claimed_row("baseline"), workers=2) == pytest.approx(0.9346, 1e-4)


def test_every_claimed_rate_exceeds_its_own_ceiling():
    assert all(row.requests_per_second > claimed_ceiling_rps(row) for row in CLAIMED_ROWS)


def test_the_ceiling_refuses_no_workers_and_an_unknown_row_names_the_rows():
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        claimed_ceiling_rps(CLAIMED_ROWS[0], workers=0)
    with pytest.raises(KeyError, match="baseline, cython, pypy, pypy-cython"):
        claimed_row("mypyc")


# The options and the sizing of the run


def test_the_default_options_are_the_article_s_n_and_connections():
    options = HeadlineOptions()
    assert (options.n, options.connections, options.wrk_threads) == (35, 100, 2)
    assert (options.min_requests, options.fib_max_n) == (30, 35)
    assert options.variants == variant_names()
    assert HeadlineOptions.quick().n == 25
    assert HeadlineOptions.quick(variants=["cython"]).variants == ["cython"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"variants": ["nope"]}, "variants must be some of"),
        ({"wrk_threads": 0}, "wrk needs 1 to 100 threads"),
        ({"min_seconds": 5, "max_seconds": 2}, "need 0 < min_seconds <= max_seconds"),
        ({"n": 93}, "n must be from 0 to 92, not 93"),
        ({"warmup_max_seconds": {"cpython": 1}}, "warmup_max_seconds needs a limit for each"),
    ],
)
def test_options_that_cannot_measure_are_refused(settings: dict, message: str):
    with pytest.raises(ValueError, match=message):
        HeadlineOptions(**settings)


URL = "http://127.0.0.1:1/fib/35"


def test_a_slow_variant_runs_long_enough_for_its_answers_and_does_not_time_out():
    # 1.4 s per request on 2 CPUs: 30 answers at 0.7 s each, 20% headroom, one computation: 26.6 s.
    plan = headline_plan(HeadlineOptions(), URL, [1.3, 1.4, 1.5], cpus=2)
    assert (plan.duration_seconds, plan.timeout_seconds) == (27, 210)  # 3 × 100 × 0.7 s
    assert (plan.connections, plan.threads, plan.new_connection_per_request) == (100, 2, True)


def test_a_fast_variant_runs_for_min_seconds_and_a_very_slow_one_for_max_seconds():
    fast = headline_plan(HeadlineOptions(), URL, [0.05], cpus=2)
    assert (fast.duration_seconds, fast.timeout_seconds) == (10, 8)  # 3 × 100 × 0.025 = 7.5
    slow = headline_plan(HeadlineOptions(), URL, [5.0], cpus=2)
    assert (slow.duration_seconds, slow.timeout_seconds) == (45, 750)


# The run's bookkeeping, without servers


def test_a_failing_variant_is_recorded_and_the_next_one_still_runs(monkeypatch):
    def fake_measure(options, cpus, row, say, save):
        if row["variant"] == "baseline":
            raise RuntimeError("verification failed: GET /fib/10 is exact")
        row["wrk"] = {"requests": 3}

    monkeypatch.setattr(article_headline, "measure_variant", fake_measure)
    said, saves, section = [], [], {}
    options = HeadlineOptions(variants=["baseline", "cython"], allow_busy=True)
    measure_headline(options, said.append, lambda: saves.append(1), section)
    baseline, cython = section["rows"]
    assert baseline["status"] == "failed"
    assert baseline["error"] == "baseline: verification failed: GET /fib/10 is exact"
    assert (cython["status"], cython["error"], cython["wrk"]) == ("measured", None, {"requests": 3})
    assert len(saves) == 3  # the settings, then after each variant
    assert said == [
        "[red]article headline baseline failed:[/red] verification failed: GET /fib/10 is exact"
    ]
    assert section["workers"] == len(os.sched_getaffinity(0))
    assert "where the article used 4" in section["note"]


def test_busy_cores_are_refused_unless_allowed(monkeypatch):
    monkeypatch.setattr(article_headline.sampling, "busy_cpus", lambda cpus: {0: 95.0})
    monkeypatch.setattr(article_headline.sampling, "top_cpu_processes", lambda: ["7 yes (95%)"])
    with pytest.raises(BenchmarkError, match=r"busy \(CPU 0 95%\); busiest: 7 yes \(95%\)"):
        measure_headline(HeadlineOptions(), print, lambda: None, {})


# The Markdown, from a fixture section


def wrk_result(requests: int, seconds: float, p99: float, uss: float, timeouts: int = 0) -> dict:
    return {
        "requests": requests,
        "duration_seconds": seconds,
        "requests_per_second": requests / seconds,
        "latency_ms": {"p50": p99 / 2, "p90": p99 * 0.9, "p99": p99, "max": p99},
        "errors": {"connect": 0, "read": 0, "write": 0, "timeout": timeouts, "non_2xx": 0},
        "uss_mib_per_worker_peak": uss,
    }


def fixture_row(variant: str, compute: float | None, wrk: dict | None, error: str = "") -> dict:
    return {
        "variant": variant,
        "status": "failed" if error else "measured",
        "error": error or None,
        "compute_seconds": compute,
        "wrk": wrk,
    }


SECTION = {
    "path": "/fib/35",
    "n": 35,
    "connections": 100,
    "wrk_threads": 2,
    "workers": 2,
    "cpus": [0, 1],
    "min_requests": 30,
    "note": "The note.",
    "rows": [
        fixture_row("baseline", 1.5, wrk_result(30, 24.0, 23_456.7, 35.61)),
        fixture_row("cython", 0.012, wrk_result(1_600, 10.0, 1_234.5, 36.04)),
        fixture_row("pypy", 0.2, wrk_result(20, 2.5, 12_000.0, 120.25, timeouts=2)),
        fixture_row("pypy-cython", None, None, error="pypy-cython: exited with code 1"),
    ],
}

EXPECTED_TABLE = """\
GET /fib/35, 100 connections. Article: 4 workers, `wrk -t4 -c100 -d30s`. Ours: GET /fib/35, \
2 workers, `wrk -t2 -c100`, one run per variant. The note.

| configuration | requests/s, article | requests/s, ours | p99 ms, article | p99 ms, ours | \
fib(35) compute s, article | fib(35) compute s, ours | memory per worker MB, article | \
memory per worker, ours (USS MiB, peak) | requests answered, ours |
|---|---|---|---|---|---|---|---|---|---|
| CPython baseline (`baseline`) | 12,450 | 1.25 | 210 | 23,457 | 2.14 | 1.50 | 128 | 35.6 | \
30 in 24.0 s |
| CPython + Cython (`cython`) | 16,820 | 160 | 142 | 1,235 | 0.0800 | 0.0120 | 132 | 36.0 | \
1,600 in 10.0 s |
| PyPy (JIT only) (`pypy`) | 17,950 | 8.00 ⚠ | 118 | 12,000 | 0.120 | 0.200 | 210 | 120 | \
20 in 2.50 s |
| PyPy + Cython (`pypy-cython`) | 21,430 | — | 89.0 | — | 0.0500 | — | 215 | — | — |

- ⚠ PyPy (JIT only): 20 requests answered, fewer than the 30 asked for; 2 errors (timeout 2)
- PyPy + Cython (failed): pypy-cython: exited with code 1
"""


def test_the_table_sets_the_article_s_figures_beside_ours():
    assert headline_table(copy.deepcopy(SECTION)) == EXPECTED_TABLE


def test_the_reading_says_which_claims_are_impossible_on_their_face():
    lines = headline_reading(copy.deepcopy(SECTION)).splitlines()
    assert lines[1] == (
        "- CPython baseline: 12,450 requests/s claimed; 2.14 s per request allows at most 1.87, "
        "so the claim is impossible on its face: 6,661× that bound. Its p99 of 210 ms is below "
        "its own compute time of 2,140 ms, also impossible. Ours: 1.25 requests/s, where "
        "1.50 s per request allows at most 1.33."
    )
    assert lines[4] == (
        "- PyPy + Cython: 21,430 requests/s claimed; 0.0500 s per request allows at most 80.0, "
        "so the claim is impossible on its face: 268× that bound. Its p99 of 89.0 ms is not "
        "below its own compute time of 50.0 ms. Ours: not measured."
    )


def test_the_reading_checks_each_direction_of_the_article_s_table():
    lines = headline_reading(copy.deepcopy(SECTION)).splitlines()
    heading = lines.index("**The directions of the article's table, by our measurement.**")
    directions = lines[heading + 1 : heading + 7]
    assert directions == [
        "- CPython + Cython serves more requests/s than CPython baseline: claimed yes "
        "(16,820 vs 12,450 requests/s); ours yes (160 vs 1.25 requests/s).",
        "- PyPy (JIT only) serves more requests/s than CPython baseline: claimed yes "
        "(17,950 vs 12,450 requests/s); ours yes (8.00 vs 1.25 requests/s).",
        "- PyPy (JIT only) serves more requests/s than CPython + Cython: claimed yes "
        "(17,950 vs 16,820 requests/s); ours no (8.00 vs 160 requests/s).",
        "- PyPy + Cython serves more requests/s than CPython + Cython: claimed yes "
        "(21,430 vs 16,820 requests/s); ours: not measured.",
        "- PyPy + Cython serves more requests/s than PyPy (JIT only): claimed yes "
        "(21,430 vs 17,950 requests/s); ours: not measured.",
        "- PyPy (JIT only) uses more memory per worker than CPython baseline: claimed yes "
        "(210 vs 128 MB); ours yes (120 vs 35.6 MiB, USS peak).",
    ]


def test_the_reading_gives_the_ratios_to_the_baseline_claimed_and_ours():
    reading = headline_reading(copy.deepcopy(SECTION))
    assert reading.endswith(
        "**Ratios to the CPython baseline, claimed and ours.**\n"
        "- CPython + Cython: requests/s 1.35× claimed, 128× ours; "
        "compute speed 26.8× claimed, 125× ours.\n"
        "- PyPy (JIT only): requests/s 1.44× claimed, 6.40× ours; "
        "compute speed 17.8× claimed, 7.50× ours.\n"
        "- PyPy + Cython: requests/s 1.72× claimed, — ours; compute speed 42.8× claimed, — ours.\n"
    )


# For real: the quick preset against real servers


def test_the_quick_preset_measures_two_variants_over_http():
    said, saves, section = [], [], {}
    options = HeadlineOptions.quick(variants=["baseline", "pypy"], allow_busy=True)
    measure_headline(options, said.append, lambda: saves.append(1), section)
    assert [row["variant"] for row in section["rows"]] == ["baseline", "pypy"]
    for row in section["rows"]:
        assert (row["status"], row["error"]) == ("measured", None), said
        assert row["verification"]["passed"] is True
        assert row["wrk"]["requests"] > 0
        assert row["compute_seconds"] > 0
        assert len(row["compute_seconds_probes"]) == 3
        assert row["wrk"]["uss_mib_per_worker_peak"] > 0
        assert row["wrk"]["uss_mib_per_worker_end"] > 0
        assert row["warmup"]["n"] == options.warmup_n
    baseline, pypy = section["rows"]
    assert baseline["runtime"].startswith("CPython 3.")
    assert pypy["runtime"].startswith("PyPy 7.")
    assert (section["n"], section["connections"], section["fib_max_n"]) == (25, 100, 35)
    assert len(saves) >= 3
    assert json.loads(json.dumps(section)) == section  # what save() writes is the section
    assert "| CPython baseline (`baseline`) | 12,450 |" in headline_table(section)
