"""How the plots draw (plots.py, plots_ladder.py): a figure titled with where it was measured, one
colour per variant, plain numbers on log axes, grouped bars, min–max error bars, and PNGs that are
the same bytes for the same results.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path

# Figures are drawn on the Agg canvas directly: no display, and no pyplot global state.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from benchmarks.formatting import display_name, variant_order
from benchmarks.results import Json

# One colour per variant, the same in every plot (matplotlib's default cycle).
COLOURS = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
DPI = 120
# A bar series: its label, its colour, and its value for a group (None: no bar).
Series = tuple[str, str, Callable[[str], "float | None"]]


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


def error_bars(spreads: list[Json]) -> list[list[float]]:
    """How far each min and max lie below and above the median, as matplotlib's error bars."""
    # Clamped at 0: matplotlib refuses a negative error bar, even a rounding error's.
    below = [max(0, s["median"] - s["min"]) for s in spreads]
    above = [max(0, s["max"] - s["median"]) for s in spreads]
    return [below, above]


def grouped_bars(ax, groups: list[str], series: list[Series]) -> None:
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


def variant_ticks(ax, results: Json, variants: list[str]) -> None:
    """The variants' names under their groups of bars."""
    # Wrapped, so that four variant names fit side by side.
    labels = [textwrap.fill(display_name(results, v), 16) for v in variants]
    ax.set_xticks(range(len(variants)), labels)
