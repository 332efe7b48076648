"""The PNG plots of the synthetic golden results file, and the size and legends of the plots of
the committed reference results (written to a temporary folder, never over them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.transforms import Bbox

from benchmarks.plots import (
    MAX_PIXELS,
    memory_figure,
    plot_figures,
    render_plots,
    warmup_figure,
)
from benchmarks.plots_ladder import cores_figure, ladder_figure
from benchmarks.results import RESULTS_DIR, Json, load_results

DATA = Path(__file__).resolve().parent / "data"
GOLDEN_RESULTS = DATA / "results-golden.json"
COMMITTED_RESULTS = RESULTS_DIR / "latest.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = ["rps_vs_n.png", "latency.png", "warmup.png", "memory.png", "ladder.png", "cores.png"]


@pytest.fixture
def results() -> Json:
    return load_results(GOLDEN_RESULTS)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 10_000, f"{path} is only {len(data)} bytes"


def test_all_plots_are_written(results: Json, tmp_path: Path) -> None:
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
    assert [path.name for path in written] == [
        "rps_vs_n.png", "latency.png", "memory.png", "ladder.png", "cores.png",
    ]  # fmt: skip
    assert not (tmp_path / "warmup.png").exists()


def test_without_records_only_the_variants_own_data_is_plotted(
    results: Json, tmp_path: Path
) -> None:
    # Warm-up and memory are stored per variant, the ladder and cores in their own sections;
    # requests/s and latency need records.
    results["records"] = []
    written = [path.name for path in render_plots(results, tmp_path)]
    assert written == ["warmup.png", "memory.png", "ladder.png", "cores.png"]


def test_without_memory_figures_the_memory_plot_is_skipped(results: Json, tmp_path: Path) -> None:
    for entry in results["variants"].values():
        entry["memory"] = None
    for record in results["records"]:
        for repeat in record["repeats"]:
            for key in [key for key in repeat if "_mib_per_worker" in key]:
                repeat[key] = None
    assert "memory.png" not in [path.name for path in render_plots(results, tmp_path)]


def test_the_warm_up_axis_says_what_its_seconds_measure(results: Json) -> None:
    (ax,) = warmup_figure(results).axes
    assert ax.get_xlabel() == "seconds of load after the health wait and the contract check"
    # The curves are drawn at their recorded timestamps, not at 1, 2, 3, ...
    assert list(ax.lines[0].get_xdata()) == [1.23, 2.35, 3.46, 4.58, 5.69, 6.81]


def test_the_warm_up_rings_each_plateaus_first_point(results: Json) -> None:
    (ax,) = warmup_figure(results).axes
    rings = [ring.get_offsets().tolist() for ring in ax.collections]
    assert rings == [[[1.23, 505.0]], [[3.54, 1150.0]]]


def bar_heights(results: Json) -> dict[str, list[float]]:
    (ax,) = memory_figure(results).axes
    return {
        container.get_label(): [bar.get_height() for bar in container]
        for container in ax.containers
    }


def test_the_memory_plot_shows_peak_and_end_of_run(results: Json) -> None:
    assert bar_heights(results) == {
        "USS, peak": [41.0, 126.0],
        "USS, end of run": [40.5, 125.0],
        "PSS, peak": [43.0, 128.0],
        "PSS, end of run": [42.5, 127.0],
    }


def test_a_version_1_file_has_no_end_of_run_bars() -> None:
    heights = bar_heights(load_results(DATA / "results-golden-v1.json"))
    assert heights["USS, peak"] == [41.0, 126.0]
    assert heights["USS, end of run"] == heights["PSS, end of run"] == []


def bars_of(ax) -> dict[str, list[float]]:
    """Each bar series' label and its bars' lengths (widths of horizontal bars)."""
    return {
        container.get_label(): [
            bar.get_width() if container.orientation == "horizontal" else bar.get_height()
            for bar in container
        ]
        for container in ax.containers
        if isinstance(container, BarContainer)  # not the error bars
    }


def test_the_ladder_has_a_group_per_stack_and_a_bar_per_rung(results: Json) -> None:
    (ax,) = ladder_figure(results).axes
    assert bars_of(ax) == {
        "CPython 3.11.7 · uvloop + httptools": [10000, 6000, 4000, 3800, 2000],
        "PyPy 7.3.11 (Python 3.9.16) · asyncio + httptools": [12000, 9000, 5000, 4500, 1500],
        "PyPy 7.3.11 (Python 3.9.16) · asyncio + h11": [8000, 6000, 4000, 3000, 1000],
    }
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels[:4] == ["bare ASGI app", "Starlette route", "FastAPI route, same response model",
                          "CPython, pure Python"]  # fmt: skip
    assert len(labels) == 15
    # Each bar is labelled with its median and its share of the stack's FastAPI route.
    texts = [text.get_text() for text in ax.texts]
    assert "2,000 (50.0%)" in texts
    assert "12,000 (240%) ⚠" in texts


def test_a_stack_without_measured_rungs_is_left_out_of_the_ladder(results: Json) -> None:
    h11 = results["ladder"]["stacks"][2]
    h11["status"], h11["rungs"] = "failed", []
    (ax,) = ladder_figure(results).axes
    assert len(bars_of(ax)) == 2


def test_the_cores_plot_shows_each_variant_by_workers(results: Json) -> None:
    (ax,) = cores_figure(results).axes
    # The failed variant's runs have no bars.
    assert bars_of(ax) == {"1 worker": [12.5, 130.0], "2 workers": [24.0, 250.0]}
    assert "1.95 cores" in [text.get_text() for text in ax.texts]


def test_without_ladder_and_cores_their_plots_are_skipped(results: Json, tmp_path: Path) -> None:
    del results["ladder"], results["cores"]
    written = [path.name for path in render_plots(results, tmp_path)]
    assert written == ["rps_vs_n.png", "latency.png", "warmup.png", "memory.png"]
    assert ladder_figure(results) is None
    assert cores_figure(results) is None


# Size and legends, of the committed results (every plot: the case study's too) and the golden file


@pytest.fixture(params=[COMMITTED_RESULTS, GOLDEN_RESULTS], ids=["committed", "golden"])
def any_results(request) -> Json:
    return load_results(request.param)


def test_every_plot_is_at_most_1600_px_either_way(any_results: Json, tmp_path: Path) -> None:
    written = render_plots(any_results, tmp_path)
    assert written
    for path in written:
        height, width, _ = imread(path).shape
        assert 600 <= width <= MAX_PIXELS == 1600, f"{path.name} is {width} px wide"
        assert 400 <= height <= MAX_PIXELS, f"{path.name} is {height} px high"


def test_the_committed_latency_plot_wraps_its_five_panels_to_two_rows(tmp_path: Path) -> None:
    results = load_results(COMMITTED_RESULTS)
    (latency,) = [path for path in render_plots(results, tmp_path) if path.name == "latency.png"]
    # Five n in one row were 3,420 x 576 px; three columns of two rows are 1,560 px wide.
    height, width, _ = imread(latency).shape
    assert (width, height) == (1560, 1008)


def legends(figure: Figure) -> list:
    return [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend())]


def visible_bars(figure: Figure, renderer) -> list[Bbox]:
    """Where each bar is drawn: its box clipped to its panel (a bar on a log axis starts far
    below the panel's bottom)."""
    boxes = []
    for ax in figure.axes:
        for container in ax.containers:
            if isinstance(container, BarContainer):
                for bar in container:
                    shown = Bbox.intersection(bar.get_window_extent(renderer), ax.bbox)
                    if shown is not None:
                        boxes.append(shown)
    return boxes


def test_no_legend_covers_a_bar_or_a_panel(any_results: Json) -> None:
    for name, figure in plot_figures(any_results):
        figure.canvas.draw()  # lays the figure out as it is saved
        renderer = figure.canvas.get_renderer()
        assert legends(figure), f"{name} has no legend"
        for legend in legends(figure):
            box = legend.get_window_extent(renderer)
            assert figure.bbox.contains(box.x0, box.y0), f"{name}: the legend is cut off"
            assert figure.bbox.contains(box.x1, box.y1), f"{name}: the legend is cut off"
            for bar in visible_bars(figure, renderer):
                assert not box.overlaps(bar), f"{name}: the legend covers a bar"
            for ax in figure.axes:
                assert not box.overlaps(ax.get_window_extent(renderer)), f"{name}: in a panel"


def test_panels_that_show_the_same_series_share_one_legend(results: Json) -> None:
    figures = dict(plot_figures(results))
    latency = figures["latency.png"]
    assert len(latency.axes) == 2  # n = 0 and 20 in the golden file
    (legend,) = legends(latency)
    assert [text.get_text() for text in legend.get_texts()] == [
        "CPython, pure Python",
        "PyPy, pure Python",
    ]
