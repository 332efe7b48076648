"""The JIT settings' warm-up curves (benchmarks/jit_tips.py) on one chart, as a PNG: requests/s
against seconds of load, each plateau's first point ringed, as in plots.py's warm-up plot."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.figures import COLOURS, new_figure, save
from benchmarks.jit_tips import summary_of
from benchmarks.plots import ring_point
from benchmarks.results import Json

# 10 × 5 inches at figures.DPI (120): 1200 × 600 pixels.
WIDTH_INCHES = 10.0
HEIGHT_INCHES = 5.0
LEGEND_COLUMNS = 2
# jit_tips.py checks the contract after the curve, so the clock starts at the health wait.
X_LABEL = "seconds of load after the health wait"


def curves_of(section: Json) -> list[tuple[int, Json]]:
    """(the setting's place in the section, its entry) for each setting with a curve; the place
    picks its colour, so a setting keeps its colour when another one failed."""
    return [
        (index, entry)
        for index, entry in enumerate(section.get("settings", []))
        if (entry.get("warmup") or {}).get("seconds")
    ]


def setting_legend(entry: Json) -> str:
    start = summary_of(entry).get("plateau_start_seconds")
    plateau = "no plateau" if start is None else f"plateau from {start:g} s"
    return f"{entry['label']} ({plateau})"


def plot_curve(ax, entry: Json, colour: str) -> None:
    warmup = entry["warmup"]
    ax.plot(
        warmup["seconds"],
        warmup["requests_per_second"],
        marker=".",
        color=colour,
        label=setting_legend(entry),
    )
    ring_point(ax, warmup, summary_of(entry).get("plateau_start_seconds"), colour)


def jit_figure(section: Json) -> Figure:
    """Every measured setting's warm-up curve on one chart; ValueError when none has a curve."""
    curves = curves_of(section)
    if not curves:
        raise ValueError("no JIT setting has a warm-up curve to plot")
    where = {"environment": {"machine": {"cpu_model": section.get("cpu_model")}}}
    note = (section.get("pinning") or {}).get("note")
    title = (
        f"PyPy's JIT settings: GET /fib/{section['n']}, {section['connections']} connections, "
        "one worker, requests/s in 1-second wrk runs"
    )
    figure, (ax,) = new_figure(where, title, width=WIDTH_INCHES, height=HEIGHT_INCHES, where=note)
    for index, entry in curves:
        plot_curve(ax, entry, COLOURS[index % len(COLOURS)])
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel("requests/s (ring: the plateau's first run)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    # Below the axes, not on them: the curves can run anywhere across the chart.
    figure.legend(loc="outside lower center", ncols=LEGEND_COLUMNS, fontsize="small")
    return figure


def plot_jit_curves(section: Json, out: Path) -> Path:
    """The chart of jit_figure as a PNG at `out` (1200 × 600 pixels); the path written."""
    return save(jit_figure(section), Path(out))
