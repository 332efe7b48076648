"""The plots of the framework ladder (where a cheap request's time goes, per HTTP stack) and of the
whole-machine runs (each variant with 1 and 2 workers on every CPU)."""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from benchmarks.figures import (
    error_bars,
    grouped_bars,
    log_y_axis,
    new_figure,
    variant_ticks,
    variants_in_order,
)
from benchmarks.formatting import cores_rps, cores_runs, format_number, plural
from benchmarks.ladder_results import measured_rungs, measured_stacks, rung_figures, stack_name
from benchmarks.results import Json

# The ladder


def plot_ladder_stack(ax, results: Json, stack: Json, first: int, bar_colour: str) -> list[float]:
    """One stack's rungs as horizontal bars from row `first` down; returns their rows."""
    rungs = measured_rungs(stack)
    rows = [float(first + index) for index in range(len(rungs))]
    spreads = [rung["summary"]["requests_per_second"] for rung in rungs]
    bars = ax.barh(
        rows,
        [s["median"] for s in spreads],
        xerr=error_bars(spreads),
        capsize=3,
        color=bar_colour,
        label=stack_name(results, stack),
    )
    # `10,853 (100%)`: the share of the stack's FastAPI floor; ⚠ where the table flags it.
    labels = [rung_figures(stack, rung) for rung in rungs]
    ax.bar_label(bars, labels, padding=4, fontsize="small")
    return rows


def ladder_figure(results: Json) -> Figure | None:
    """A group of bars per stack, a bar per rung: where a cheap request's time goes."""
    stacks = measured_stacks(results)
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


# The whole machine


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
            plural(count, "worker"),
            f"C{index}",
            lambda variant, count=count: cores_rps(by_key.get((variant, count))),
        )
        for index, count in enumerate(workers)
    ]
    grouped_bars(ax, variants, series)
    for container, count in zip(ax.containers, workers):
        used = [by_key[(v, count)]["summary"] for v in variants if (v, count) in by_key]
        used_cores = [f"{format_number(summary.get('server_cpu_cores'))} cores" for summary in used]
        ax.bar_label(container, used_cores, padding=2, fontsize="x-small")
    variant_ticks(ax, results, variants)
    log_y_axis(ax)
    # Room below the lowest bar, which a log axis would otherwise start at.
    ax.set_ylim(bottom=min(cores_rps(run) or 1 for run in runs) / 3)
    ax.set_ylabel("requests/s (log scale; labels: server CPU cores used)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return figure
