"""The plots of a results file, as PNGs: requests/s against n, latency percentiles, the warm-up
curves, memory per worker, the framework ladder and the whole-machine runs (the last two in
plots_ladder.py). A plot whose data the file lacks is skipped, not drawn empty.

Every plot is at most MAX_COLUMNS panels wide (more panels wrap to another row), so none grows
wider than about 1,600 px at figures.DPI, and its legend sits below its panels, outside the data,
where it can cover no bar, line or label.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.figures import (
    Series,
    colour,
    error_bars,
    grouped_bars,
    log_y_axis,
    new_figure,
    save,
    variant_ticks,
    variants_in_order,
)
from benchmarks.formatting import display_name, records_of
from benchmarks.plots_ladder import cores_figure, ladder_figure
from benchmarks.plots_scoring import scoring_figure
from benchmarks.results import Json, memory_of

PERCENTILES = ("p50", "p90", "p99")
# Peak over all of a variant's runs, end = the last sample of its last run (results.py: MEMORY).
MEMORY_KINDS = (
    ("peak_uss_mib_per_worker", "USS, peak"),
    ("end_uss_mib_per_worker", "USS, end of run"),
    ("peak_pss_mib_per_worker", "PSS, peak"),
    ("end_pss_mib_per_worker", "PSS, end of run"),
)
WARMUP_X_LABEL = "seconds of load after the health wait and the contract check"
# A grid of panels: at most this many side by side, each this many inches wide and high.
MAX_COLUMNS = 3
PANEL_WIDTH = 4.0
PANEL_HEIGHT = 3.4
LEGEND_FONT = "small"


def wrk_records(results: Json) -> list[Json]:
    return [record for record in records_of(results, "wrk") if record.get("n") is not None]


def panel_grid(results: Json, title: str, panels: int) -> tuple[Figure, list]:
    """A figure of `panels` axes, MAX_COLUMNS to a row (figures.new_figure puts them all in one
    row, which made five panels 3,420 px wide)."""
    if panels <= 1:
        return new_figure(results, title)
    columns = min(panels, MAX_COLUMNS)
    rows = math.ceil(panels / columns)
    width, height = PANEL_WIDTH * columns + 1, PANEL_HEIGHT * rows + 1.6
    figure, (placeholder,) = new_figure(results, title, width=width, height=height)
    placeholder.remove()
    axes = figure.subplots(rows, columns, squeeze=False).flatten().tolist()
    for unused in axes[panels:]:
        unused.remove()
    return figure, axes[:panels]


# Requests/s against n


def plot_rps_line(ax, results: Json, variant: str, records: list[Json]) -> None:
    """One variant's median requests/s against n, with the min–max over repeats as error bars."""
    rows = sorted(records, key=lambda record: record["n"])
    spreads = [row["summary"]["requests_per_second"] for row in rows]
    ax.errorbar(
        [row["n"] for row in rows],
        [s["median"] for s in spreads],
        yerr=error_bars(spreads),
        marker="o",
        capsize=3,
        color=colour(results, variant),
        label=display_name(results, variant),
    )


def mark_unreliable(ax, records: list[Json]) -> None:
    """Ring the points the table flags (high CV or a saturated load generator)."""
    flagged = [record for record in records if record["summary"].get("unreliable")]
    if flagged:
        ax.scatter(
            [record["n"] for record in flagged],
            [record["summary"]["requests_per_second"]["median"] for record in flagged],
            s=160,
            facecolors="none",
            edgecolors="red",
            zorder=3,
            label="unreliable (see the table's ⚠)",
        )


def rps_figure(results: Json) -> Figure | None:
    """Each variant's requests/s against n, a plot per number of connections."""
    records = wrk_records(results)
    if not records:
        return None
    connection_counts = sorted({record["connections"] for record in records})
    title = "Requests/s against n (wrk, median of repeats, bars min–max)"
    figure, axes = panel_grid(results, title, len(connection_counts))
    for ax, connections in zip(axes, connection_counts):
        at_load = [record for record in records if record["connections"] == connections]
        for variant in variants_in_order(results, {record["variant"] for record in at_load}):
            plot_rps_line(ax, results, variant, [r for r in at_load if r["variant"] == variant])
        mark_unreliable(ax, at_load)
        log_y_axis(ax)
        ax.set_title(f"{connections} connections", fontsize="medium")
        ax.set_xlabel("n in GET /fib/n")
        ax.set_ylabel("requests/s (log scale)")
        ax.set_xticks(sorted({record["n"] for record in at_load}))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    return figure


# Latency


def latency_figure(results: Json) -> Figure | None:
    """The latency percentiles of each variant at the highest load, a plot per n."""
    records = wrk_records(results)
    if not records:
        return None
    # The highest load shows the queueing; lower ones mostly show the service time.
    connections = max(record["connections"] for record in records)
    at_load = [record for record in records if record["connections"] == connections]
    n_values = sorted({record["n"] for record in at_load})
    figure, axes = panel_grid(
        results, f"Latency percentiles (wrk, {connections} connections)", len(n_values)
    )
    for ax, n in zip(axes, n_values):
        by_variant = {record["variant"]: record for record in at_load if record["n"] == n}
        variants = variants_in_order(results, set(by_variant))
        series = [
            (
                display_name(results, variant),
                colour(results, variant),
                lambda p, record=by_variant[variant]: record["summary"]["latency_ms"].get(p),
            )
            for variant in variants
        ]
        grouped_bars(ax, list(PERCENTILES), series)
        log_y_axis(ax)
        ax.set_title(f"n = {n}", fontsize="medium")
        ax.set_ylabel("latency, ms (log scale)")
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize="small")
    return figure


# Warm-up


def warmup_curves(results: Json) -> dict[str, Json]:
    return {
        name: entry["warmup"]
        for name, entry in results.get("variants", {}).items()
        if (entry.get("warmup") or {}).get("seconds")
    }


def warmup_figure(results: Json) -> Figure | None:
    """Each variant's warm-up curve, its plateau's first point ringed."""
    curves = warmup_curves(results)
    if not curves:
        return None
    figure, (ax,) = new_figure(results, "Warm-up: requests/s in 1-second wrk runs")
    for variant, warmup in curves.items():
        ax.plot(
            warmup["seconds"],
            warmup["requests_per_second"],
            marker=".",
            color=colour(results, variant),
            label=f"{display_name(results, variant)} (n = {warmup.get('n')}, "
            f"{warmup.get('connections')} connections)",
        )
        mark_plateau_start(ax, results, variant, warmup)
    # Each point is stamped when its 1-second run ended.
    ax.set_xlabel(WARMUP_X_LABEL)
    ax.set_ylabel("requests/s (ring: the plateau's first run)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def mark_plateau_start(ax, results: Json, variant: str, warmup: Json) -> None:
    """A ring on the first point of the plateau (benchmarks/warmup.py)."""
    ring_point(ax, warmup, warmup.get("plateau_start_seconds"), colour(results, variant))


def ring_point(ax, curve: Json, seconds: float | None, edge: str) -> None:
    """A ring on the point of a warm-up curve ({"seconds", "requests_per_second"}) at `seconds`
    (none for None): where its plateau starts."""
    if seconds is None:
        return
    index = curve["seconds"].index(seconds)
    ax.scatter(
        [seconds],
        [curve["requests_per_second"][index]],
        s=120,
        facecolors="none",
        edgecolors=edge,
        zorder=3,
    )


# Memory


def memory_series(results: Json) -> list[Series]:
    """Peak and end of run of USS and PSS: a bar each, from the variants' MEMORY."""

    def value(key: str) -> Callable[[str], float | None]:
        return lambda variant: (memory_of(results, variant) or {}).get(key)

    return [(label, f"C{index}", value(key)) for index, (key, label) in enumerate(MEMORY_KINDS)]


def memory_figure(results: Json) -> Figure | None:
    """Peak and end-of-run USS and PSS per worker, a group of bars per variant."""
    series = memory_series(results)
    variants = [
        variant
        for variant in variants_in_order(results, set(results.get("variants", {})))
        if any(value_of(variant) is not None for _, _, value_of in series)
    ]
    if not variants:
        return None
    figure, (ax,) = new_figure(results, "Memory per worker: peak and end of run")
    grouped_bars(ax, variants, series)
    variant_ticks(ax, results, variants)
    ax.set_ylabel("MiB per worker")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return figure


# Legends


def legends_below(figure: Figure) -> None:
    """The figure's panel legends as one legend below its panels, outside every panel's data:
    inside a panel, a legend covered the bars it explains (the latency plot at n = 25 and 30).
    The figure functions (here, in plots_ladder.py and plots_scoring.py) give a panel its legend
    as usual; this moves them all. Panels that show the same series share its entries."""
    entries: dict[str, object] = {}
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        handles, labels = ax.get_legend_handles_labels()
        for handle, label in zip(handles, labels):
            entries.setdefault(label, handle)
        legend.remove()
    if entries:
        widest_fitting_legend(figure, list(entries.values()), list(entries))


def widest_fitting_legend(figure: Figure, handles: list, labels: list[str]) -> None:
    """A legend below the panels in as many columns as fit the figure's width."""
    renderer = figure.canvas.get_renderer()
    for columns in range(len(labels), 0, -1):
        legend = figure.legend(
            handles, labels, loc="outside lower center", ncols=columns, fontsize=LEGEND_FONT
        )
        if columns == 1 or legend.get_window_extent(renderer).width <= figure.bbox.width * 0.95:
            return
        legend.remove()


# Every plot

PLOT_FILES: tuple[tuple[str, Callable[[Json], Figure | None]], ...] = (
    ("rps_vs_n.png", rps_figure),
    ("latency.png", latency_figure),
    ("warmup.png", warmup_figure),
    ("memory.png", memory_figure),
    ("ladder.png", ladder_figure),
    ("cores.png", cores_figure),
    ("scoring.png", scoring_figure),
)
# The widest and the tallest a plot should be at figures.DPI (tests/test_plots.py checks the plots
# of the committed results).
MAX_PIXELS = 1600


def plot_figures(results: Json) -> list[tuple[str, Figure]]:
    """Every plot the results have data for, by file name, laid out as it is saved."""
    drawn = []
    for name, figure_of in PLOT_FILES:
        figure = figure_of(results)
        if figure is not None:
            legends_below(figure)
            drawn.append((name, figure))
    return drawn


def render_plots(results: Json, out_dir: Path) -> list[Path]:
    """Write every plot the results have data for into `out_dir`; return the paths written."""
    return [save(figure, Path(out_dir) / name) for name, figure in plot_figures(results)]
