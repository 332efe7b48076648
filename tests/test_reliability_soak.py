"""Sustained load (benchmarks/reliability_soak.py) and `make soak` (benchmarks/soak.py): the
growth and percentile rules on made-up figures, then a short real run of a CPython and a PyPy
variant at 512 connections: no error, `/health` always answered within a second, memory flat."""

from __future__ import annotations

import json

import pytest

from benchmarks import soak
from benchmarks.reference import SCRATCH_DIR
from benchmarks.reliability_soak import (
    HealthProbe,
    SoakOptions,
    health_summary,
    measure_sustained,
    memory_growth,
    percentile,
)
from variants import get_variant


def test_memory_that_levels_off_is_flat_and_memory_that_keeps_growing_is_not():
    levelling = [[float(t), 100.0 + min(t, 10) * 5] for t in range(40)]
    assert memory_growth(levelling)["flat"] is True
    assert memory_growth(levelling)["growth"] == pytest.approx(0.0)
    growing = [[float(t), 100.0 + t * 2] for t in range(40)]
    growth = memory_growth(growing)
    assert growth["flat"] is False
    # the last half is t = 20..39: its first quarter averages t = 22, its last t = 37
    assert growth["growth"] == pytest.approx((100 + 37 * 2) / (100 + 22 * 2) - 1)
    assert memory_growth(growing[:6])["flat"] is None  # too short to say


def test_health_summary_counts_failures_and_the_slowest_answer():
    probe = HealthProbe([0.002, 0.004, 0.003, 0.9], ["ConnectionRefusedError: refused"])
    summary = health_summary(probe)
    assert (summary["asked"], summary["failures"]) == (5, 1)
    assert summary["max_ms"] == pytest.approx(900.0)
    assert summary["within_limit"] is False  # a failure breaks the promise, however fast the rest
    assert health_summary(HealthProbe([0.002, 0.9], []))["within_limit"] is True
    assert health_summary(HealthProbe([0.002, 1.2], []))["within_limit"] is False
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert percentile([], 0.5) is None


@pytest.mark.parametrize("name", ["baseline", "pypy", "scoring-pypy-lean"])
def test_a_short_soak_serves_everything_and_keeps_health_answering(name: str):
    entry = measure_sustained(get_variant(name), SoakOptions(seconds=5), lambda text: None)
    assert entry["wrk"]["requests"] > 0
    assert entry["wrk"]["errors"] == {
        "connect": 0,
        "read": 0,
        "write": 0,
        "timeout": 0,
        "non_2xx": 0,
    }
    assert entry["health"]["failures"] == 0
    assert entry["health"]["asked"] >= 3  # every half second, one at a time, for 5 s
    assert entry["health"]["within_limit"] is True
    assert len(entry["memory_timeline"]) >= 3
    json.dumps(entry)  # the results file takes it as it is


def test_only_a_complete_default_soak_writes_the_reference():
    assert soak.output_folder(soak.SoakRunOptions()) == soak.SOAK_DIR
    quick = soak.output_folder(soak.SoakRunOptions(quick=True))
    assert quick.parent == SCRATCH_DIR and quick.name.startswith("soak-")
    assert soak.output_folder(soak.SoakRunOptions(variants=["baseline"])).parent == SCRATCH_DIR


def test_a_failing_soak_part_is_recorded_and_the_next_variant_still_runs(tmp_path, monkeypatch):
    def sometimes(options, variant, say):
        if variant.name == "baseline":
            raise RuntimeError("the server exited with 1")
        return {"served": 7}

    monkeypatch.setitem(soak.PART_RUNNERS, "sustained", sometimes)
    options = soak.SoakRunOptions(
        ["baseline", "pypy"], ["sustained"], output_dir=tmp_path, allow_busy=True
    )
    saved = json.loads(soak.run_soak(options, lambda text: None).read_text())
    entries = saved["parts"]["sustained"]
    assert entries["baseline"]["status"] == "failed"
    assert entries["baseline"]["error"] == "baseline: the server exited with 1"
    assert entries["pypy"] == {"status": "measured", "error": None, "served": 7}


def test_an_unknown_variant_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit):
        soak.main(["--variants", "baseline,warp"])
    assert "unknown variant(s) warp; choose from baseline, cython" in capsys.readouterr().err


def test_the_reliability_table_quotes_the_soak_results():
    from benchmarks.reliability_table import reliability_section

    entry = {
        "status": "measured",
        "seconds": 120,
        "connections": 512,
        "workers": 2,
        "wrk": {"requests": 250000, "errors": {"connect": 0, "read": 0, "timeout": 2}},
        "health": {
            "asked": 240,
            "failures": 0,
            "p50_ms": 3.0,
            "p99_ms": 41.0,
            "max_ms": 180.0,
            "within_limit": False,
        },
        "memory": {"start_mib": 200.0, "end_mib": 210.0, "growth": 0.05, "flat": True},
    }
    failed = {"status": "failed", "error": "pypy: the server exited with 1"}
    results = {
        "started_at": "2026-11-28T12:00:00Z",
        "parts": {"sustained": {"baseline": entry, "pypy": failed}},
    }
    section = reliability_section(results)
    assert (
        "| baseline | 250,000 in 120 s | 2 | 240 of 240 | 3.00 / 41.0 | 180 | **no** "
        "| 200 → 210 (5.00%, flat) |" in section
    )
    assert "| pypy | not measured: pypy: the server exited with 1 |" in section
    assert reliability_section(None) == "No soak run is committed yet: `make soak` measures one.\n"


def test_the_readmes_reliability_block_is_generated_from_the_committed_soak():
    from benchmarks.readme import README
    from benchmarks.reliability_table import END, START, load_soak_results, reliability_section

    block = README.read_text().split(START, 1)[1].split(END, 1)[0].removeprefix("\n")
    assert block == reliability_section(load_soak_results())
