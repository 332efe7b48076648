"""The plots of a results file, as PNGs: requests/s against n, latency percentiles, the warm-up
curves, memory per worker, the framework ladder and the whole-machine runs. A plot whose data the
file lacks is skipped, not drawn empty.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path

# Figures are drawn on the Agg canvas directly: no display, and no pyplot global state.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, StrMethodFormatter

from benchmarks.report import (
    FLOOR,
    cores_runs,
    display_name,
    flag,
    format_number,
    format_percent,
    measured_rungs,
    ratio_of,
    records_of,
    rung_median,
    stack_name,
    stacks_of,
    variant_order,
)
from benchmarks.results import Json, memory_of

PERCENTILES = ("p50", "p90", "p99")
# Peak over all of a variant's runs, end = the last sample of its last run (results.py: MEMORY).
MEMORY_KINDS = (
    ("peak_uss_mib_per_worker", "USS, peak"),
    ("end_uss_mib_per_worker", "USS, end of run"),
    ("peak_pss_mib_per_worker", "PSS, peak"),
    ("end_pss_mib_per_worker", "PSS, end of run"),
)
# One colour per variant, the same in every plot (matplotlib's default cycle).
COLOURS = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
DPI = 120


class PlainLogFormatter(Formatter):
    """Log-axis labels as plain numbers (6,000 rather than 6×10³): every tick when the axis spans
    less than a decade, else only those at 1, 2 and 5 times a power of ten."""

    def __call__(self, value: float, pos: int | None = None) -> str:
        if value <= 0:
            return ""
        low, high = self.axis.get_view_interval()
        mantissa = round(value / 10 ** math.floor(math.log10(value)))
        if high / low >= 10 and mantissa not in (1, 2, 5):
            return ""
        return f"{value:,g}"


def log_y_axis(ax) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PlainLogFormatter())
    ax.yaxis.set_minor_formatter(PlainLogFormatter())


def measured_on(results: Json, where: str | None = None) -> str:
    environment = results.get("environment", {})
    cpu = environment.get("machine", {}).get("cpu_model", "an unknown CPU")
    note = where or environment.get("pinning", {}).get("note") or "pinning not recorded"
    return f"measured on {cpu}, {note}"


def variants_in_order(results: Json, names: set[str]) -> list[str]:
    return sorted(names, key=lambda name: variant_order(results, name))


def colour(results: Json, variant: str) -> str:
    return COLOURS[variant_order(results, variant)[0] % len(COLOURS)]


def new_figure(
    results: Json,
    title: str,
    columns: int = 1,
    width: float | None = None,
    height: float = 4.8,
    where: str | None = None,
) -> tuple[Figure, list]:
    """A figure of `columns` axes side by side; `where` replaces the header's pinning note."""
    width = width or 5.5 * columns + 1
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0].tolist()
    # Wrap the subtitle to the figure's width: one-column figures are narrow.
    subtitle = "\n".join(textwrap.wrap(measured_on(results, where), width=int(4 * width + 36)))
    figure.suptitle(f"{title}\n{subtitle}", fontsize="medium")
    return figure, axes


def save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No timestamp or version in the file: the same results give the same bytes.
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def wrk_records(results: Json) -> list[Json]:
    return [record for record in records_of(results, "wrk") if record.get("n") is not None]


def plot_rps_line(ax, results: Json, variant: str, records: list[Json]) -> None:
    """One variant's median requests/s against n, with the min–max over repeats as error bars."""
    rows = sorted(records, key=lambda record: record["n"])
    spreads = [row["summary"]["requests_per_second"] for row in rows]
    # Clamped at 0: matplotlib refuses a negative error bar, even a rounding error's.
    below = [max(0, s["median"] - s["min"]) for s in spreads]
    above = [max(0, s["max"] - s["median"]) for s in spreads]
    ax.errorbar(
        [row["n"] for row in rows],
        [s["median"] for s in spreads],
        yerr=[below, above],
        marker="o",
        capsize=3,
        color=colour(results, variant),
        label=display_name(results, variant),
    )


def plot_rps_vs_n(results: Json, path: Path) -> Path | None:
    records = wrk_records(results)
    if not records:
        return None
    connection_counts = sorted({record["connections"] for record in records})
    title = "Requests/s against n (wrk, median of repeats, bars min–max)"
    figure, axes = new_figure(results, title, len(connection_counts))
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
    return save(figure, path)


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


def grouped_bars(
    ax,
    groups: list[str],
    series: list[tuple[str, str, Callable[[str], float | None]]],
) -> None:
    """Bars side by side for each group; `series` is (label, colour, value of a group)."""
    width = 0.8 / len(series)
    for index, (label, bar_colour, value_of) in enumerate(series):
        positions, heights = [], []
        for position, group in enumerate(groups):
            value = value_of(group)
            if value is not None:
                positions.append(position + (index - (len(series) - 1) / 2) * width)
                heights.append(value)
        ax.bar(positions, heights, width, label=label, color=bar_colour)
    ax.set_xticks(range(len(groups)), groups)


def plot_latency(results: Json, path: Path) -> Path | None:
    records = wrk_records(results)
    if not records:
        return None
    # The highest load shows the queueing; lower ones mostly show the service time.
    connections = max(record["connections"] for record in records)
    at_load = [record for record in records if record["connections"] == connections]
    n_values = sorted({record["n"] for record in at_load})
    figure, axes = new_figure(
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
    return save(figure, path)


def warmup_curves(results: Json) -> dict[str, Json]:
    return {
        name: entry["warmup"]
        for name, entry in results.get("variants", {}).items()
        if (entry.get("warmup") or {}).get("seconds")
    }


WARMUP_X_LABEL = "seconds of load after the health wait and the contract check"


def plot_warmup(results: Json, path: Path) -> Path | None:
    figure = warmup_figure(results)
    return save(figure, path) if figure else None


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
    start = warmup.get("plateau_start_seconds")
    if start is None:
        return
    index = warmup["seconds"].index(start)
    ax.scatter(
        [start],
        [warmup["requests_per_second"][index]],
        s=120,
        facecolors="none",
        edgecolors=colour(results, variant),
        zorder=3,
    )


def memory_series(results: Json) -> list[tuple[str, str, Callable[[str], float | None]]]:
    """Peak and end of run of USS and PSS: a bar each, from the variants' MEMORY."""

    def value(key: str) -> Callable[[str], float | None]:
        return lambda variant: (memory_of(results, variant) or {}).get(key)

    return [(label, f"C{index}", value(key)) for index, (key, label) in enumerate(MEMORY_KINDS)]


def plot_memory(results: Json, path: Path) -> Path | None:
    figure = memory_figure(results)
    return save(figure, path) if figure else None


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
    # Wrapped, so that four variant names fit side by side.
    labels = [textwrap.fill(display_name(results, v), 16) for v in variants]
    ax.set_xticks(range(len(variants)), labels)
    ax.set_ylabel("MiB per worker")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def ladder_stacks(results: Json) -> list[Json]:
    return [stack for stack in stacks_of(results) if measured_rungs(stack)]


def ladder_bar_label(stack: Json, rung: Json) -> str:
    """`10,853 (100%)`, the share of the stack's FastAPI floor; ⚠ where the table flags it."""
    median = rung["summary"]["requests_per_second"]["median"]
    share = format_percent(ratio_of(median, rung_median(stack, FLOOR)))
    warning = " ⚠" if flag(rung["summary"]) else ""
    return f"{format_number(median)} ({share}){warning}"


def plot_ladder_stack(ax, results: Json, stack: Json, first: int, bar_colour: str) -> list[float]:
    """One stack's rungs as horizontal bars from row `first` down; returns their rows."""
    rungs = measured_rungs(stack)
    rows = [float(first + index) for index in range(len(rungs))]
    spreads = [rung["summary"]["requests_per_second"] for rung in rungs]
    # Clamped at 0: matplotlib refuses a negative error bar, even a rounding error's.
    below = [max(0, s["median"] - s["min"]) for s in spreads]
    above = [max(0, s["max"] - s["median"]) for s in spreads]
    bars = ax.barh(
        rows,
        [s["median"] for s in spreads],
        xerr=[below, above],
        capsize=3,
        color=bar_colour,
        label=stack_name(results, stack),
    )
    labels = [ladder_bar_label(stack, rung) for rung in rungs]
    ax.bar_label(bars, labels, padding=4, fontsize="small")
    return rows


def ladder_figure(results: Json) -> Figure | None:
    """A group of bars per stack, a bar per rung: where a cheap request's time goes."""
    stacks = ladder_stacks(results)
    if not stacks:
        return None
    bars = sum(len(measured_rungs(stack)) for stack in stacks)
    title = "Framework ceiling: GET /fib/0 per rung (wrk, median of repeats, bars min–max)"
    figure, (ax,) = new_figure(results, title, width=11, height=1.6 + 0.36 * (bars + len(stacks)))
    ticks: list[float] = []
    labels: list[str] = []
    for index, stack in enumerate(stacks):
        rows = plot_ladder_stack(ax, results, stack, len(ticks) + index, f"C{index}")
        ticks += rows
        labels += [textwrap.fill(rung["label"], 40) for rung in measured_rungs(stack)]
    ax.set_yticks(ticks, labels, fontsize="small")
    ax.invert_yaxis()  # the ladder reads from the bare server down
    ax.set_xlabel("requests/s (in brackets: share of the same stack's FastAPI route)")
    ax.margins(x=0.18)  # room for the labels beside the longest bars
    ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return figure


def plot_ladder(results: Json, path: Path) -> Path | None:
    figure = ladder_figure(results)
    return save(figure, path) if figure else None


def cores_figure(results: Json) -> Figure | None:
    """Requests/s of each variant with 1 and 2 workers on every CPU, labelled with the server
    CPU cores each used."""
    runs = [run for run in cores_runs(results) if run.get("summary")]
    if not runs:
        return None
    by_key = {(run["variant"], run["workers"]): run for run in runs}
    variants = variants_in_order(results, {run["variant"] for run in runs})
    workers = sorted({run["workers"] for run in runs})
    cores = results["cores"]
    title = f"Whole machine: GET /fib/{cores.get('n')}, workers on every CPU"
    # The runs were not pinned as the header says: the cores section notes where they ran.
    figure, (ax,) = new_figure(results, title, where=cores.get("note"))
    series = [
        (
            f"{count} worker{'s' if count != 1 else ''}",
            f"C{index}",
            lambda variant, count=count: cores_value(by_key.get((variant, count))),
        )
        for index, count in enumerate(workers)
    ]
    grouped_bars(ax, variants, series)
    for container, count in zip(ax.containers, workers):
        used = [by_key[(v, count)]["summary"] for v in variants if (v, count) in by_key]
        cores = [f"{format_number(summary.get('server_cpu_cores'))} cores" for summary in used]
        ax.bar_label(container, cores, padding=2, fontsize="x-small")
    # Wrapped, so that four variant names fit side by side.
    labels = [textwrap.fill(display_name(results, v), 16) for v in variants]
    ax.set_xticks(range(len(variants)), labels)
    log_y_axis(ax)
    # Room below the lowest bar, which a log axis would otherwise start at.
    ax.set_ylim(bottom=min(cores_value(run) or 1 for run in runs) / 3)
    ax.set_ylabel("requests/s (log scale; labels: server CPU cores used)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def cores_value(run: Json | None) -> float | None:
    return run["summary"]["requests_per_second"]["median"] if run else None


def plot_cores(results: Json, path: Path) -> Path | None:
    figure = cores_figure(results)
    return save(figure, path) if figure else None


PLOTS: tuple[tuple[str, Callable[[Json, Path], Path | None]], ...] = (
    ("rps_vs_n.png", plot_rps_vs_n),
    ("latency.png", plot_latency),
    ("warmup.png", plot_warmup),
    ("memory.png", plot_memory),
    ("ladder.png", plot_ladder),
    ("cores.png", plot_cores),
)


def render_plots(results: Json, out_dir: Path) -> list[Path]:
    """Write every plot the results have data for into `out_dir`; return the paths written."""
    written = [plot(results, Path(out_dir) / name) for name, plot in PLOTS]
    return [path for path in written if path is not None]
