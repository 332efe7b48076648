"""The case study's plot: requests/s of each flavour of the scoring service, and the warm-up curves
that show when each reached its plateau."""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from benchmarks.figures import error_bars, new_figure
from benchmarks.formatting import format_number, format_ratio
from benchmarks.results import Json
from benchmarks.scoring_results import gain_over_as_written, measured_flavours, wrk_summary


def throughput_panel(ax, results: Json, flavours: dict[str, Json]) -> None:
    """A horizontal bar per flavour, labelled with its gain over the service as written and p99."""
    spreads = [wrk_summary(entry)["requests_per_second"] for entry in flavours.values()]
    rows = list(range(len(flavours)))
    bars = ax.barh(
        rows, [s["median"] for s in spreads], xerr=error_bars(spreads), capsize=3, color="C0"
    )
    labels = [
        f"{format_ratio(gain_over_as_written(results, name))}, "
        f"p99 {format_number(wrk_summary(entry)['latency_ms']['p99'])} ms"
        for name, entry in flavours.items()
    ]
    ax.bar_label(bars, labels, padding=4, fontsize="small")
    names = [textwrap.fill(entry["display_name"], 24) for entry in flavours.values()]
    ax.set_yticks(rows, names, fontsize="small")
    ax.invert_yaxis()  # the migration's steps from the top
    ax.set_xlim(left=0)
    ax.margins(x=0.35)  # room for the labels beside the longest bar
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("requests/s (median of the runs, bars min–max)")
    ax.grid(True, axis="x", alpha=0.3)


def warmup_panel(ax, flavours: dict[str, Json]) -> None:
    """Each flavour's warm-up curve: 1-second wrk runs of the measured load."""
    for index, entry in enumerate(flavours.values()):
        warmup = entry.get("warmup") or {}
        if warmup.get("seconds"):
            style = "-" if entry["interpreter"] == "pypy" else ":"
            ax.plot(
                warmup["seconds"],
                warmup["requests_per_second"],
                style,
                marker=".",
                color=f"C{index}",
                label=entry["display_name"],
            )
    ax.set_xlabel("seconds of load since the warm-up began")
    ax.set_ylabel("requests/s (1-second runs)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")


def scoring_figure(results: Json) -> Figure | None:
    flavours = measured_flavours(results)
    if not flavours:
        return None
    section = results["scoring"]
    title = (
        f"Case study: POST {section.get('path')}, one worker, "
        f"{section.get('connections')} connections (wrk)"
    )
    figure, (left, right) = new_figure(results, title, columns=2, width=13, height=5.2)
    throughput_panel(left, results, flavours)
    warmup_panel(right, flavours)
    return figure
