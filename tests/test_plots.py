"""The PNG plots of the synthetic golden results file."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.plots import render_plots
from benchmarks.results import Json, load_results

GOLDEN_RESULTS = Path(__file__).resolve().parent / "data" / "results-golden.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = ["rps_vs_n.png", "latency.png", "warmup.png", "memory.png"]


@pytest.fixture
def results() -> Json:
    return load_results(GOLDEN_RESULTS)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 10_000, f"{path} is only {len(data)} bytes"


def test_all_four_plots_are_written(results: Json, tmp_path: Path) -> None:
    written = render_plots(results, tmp_path)
    assert [path.name for path in written] == ALL_PLOTS
    for path in written:
        assert path.parent == tmp_path
        assert_png(path)


def test_the_same_results_give_the_same_bytes(results: Json, tmp_path: Path) -> None:
    first = [path.read_bytes() for path in render_plots(results, tmp_path / "first")]
    second = [path.read_bytes() for path in render_plots(results, tmp_path / "second")]
    assert first == second


def test_without_warm_up_data_the_warm_up_plot_is_skipped(results: Json, tmp_path: Path) -> None:
    for entry in results["variants"].values():
        entry["warmup"] = None
    written = render_plots(results, tmp_path)
    assert [path.name for path in written] == ["rps_vs_n.png", "latency.png", "memory.png"]
    assert not (tmp_path / "warmup.png").exists()


def test_without_records_only_the_warm_up_is_plotted(results: Json, tmp_path: Path) -> None:
    results["records"] = []
    assert [path.name for path in render_plots(results, tmp_path)] == ["warmup.png"]


def test_without_memory_figures_the_memory_plot_is_skipped(results: Json, tmp_path: Path) -> None:
    for record in results["records"]:
        record["summary"]["uss_mib_per_worker"] = record["summary"]["pss_mib_per_worker"] = None
    assert "memory.png" not in [path.name for path in render_plots(results, tmp_path)]
