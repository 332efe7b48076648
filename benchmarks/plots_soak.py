"""The soak's memory plot: each variant's memory per worker through its sustained run (the
`memory_timeline` of benchmarks/reliability_soak.py: [seconds, mean USS MiB per worker]), a line
per variant, CPython's variants in one panel and PyPy's in the other: a PyPy worker holds several
times a CPython one's memory, and on one axis the CPython lines would lie flat on the floor.

`python -m benchmarks.plots_soak [RESULTS_JSON] [--out PNG]` redraws it (by default from the
committed benchmarks/results/soak/latest.json, into memory.png beside the results file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.figures import COLOURS, new_figure, save
from benchmarks.formatting import format_number
from benchmarks.plots import legends_below
from benchmarks.reliability_table import MEMORY_PLOT, SOAK_RESULTS, load_soak_results
from benchmarks.results import Json
from variants import get_variant

PLOT_NAME = MEMORY_PLOT.name  # the README links the committed one
# Two panels side by side, 1,440 × 660 pixels at figures.DPI (120): under plots.MAX_PIXELS.
WIDTH_INCHES = 12.0
HEIGHT_INCHES = 5.5
FAMILIES = {"cpython": "CPython", "pypy": "PyPy"}


def family_of(name: str) -> str:
    """ "cpython" or "pypy"; a variant this checkout does not know, by its name."""
    try:
        return get_variant(name).family
    except KeyError:
        return "pypy" if "pypy" in name else "cpython"


def workload_of(name: str) -> str:
    try:
        return get_variant(name).workload
    except KeyError:
        return "scoring" if name.startswith("scoring") else "fib"


def timelines(results: Json) -> dict[str, list[list[float]]]:
    """Each sustained variant's memory samples, for the variants that have any."""
    sustained = (results.get("parts") or {}).get("sustained") or {}
    return {
        name: entry["memory_timeline"]
        for name, entry in sustained.items()
        if entry.get("memory_timeline")
    }


def plot_timeline(ax, name: str, samples: list[list[float]], colour: str) -> None:
    # Dashed for the scoring service, so its lines stay apart from fib's of the same runtime.
    style = "--" if workload_of(name) == "scoring" else "-"
    seconds = [sample[0] for sample in samples]
    mib = [sample[1] for sample in samples]
    # The last sample in the legend: lines that overlap (the CPython scoring flavours) still read.
    ax.plot(
        seconds, mib, style, color=colour, label=f"{name} (ends at {format_number(mib[-1])} MiB)"
    )


def memory_figure(results: Json) -> Figure | None:
    """A line per variant with samples, a panel per runtime; None when no variant has any."""
    curves = timelines(results)
    if not curves:
        return None
    # A colour per variant in the file's order, so a variant keeps it in either panel.
    colours = {name: COLOURS[index % len(COLOURS)] for index, name in enumerate(curves)}
    families = [f for f in FAMILIES if any(family_of(name) == f for name in curves)]
    title = (
        "Memory per worker under sustained load (make soak): the mean USS of the variant's "
        "workers, sampled every second"
    )
    where = f"make soak of {results.get('started_at')}"
    figure, axes = new_figure(
        results,
        title,
        columns=len(families),
        width=WIDTH_INCHES,
        height=HEIGHT_INCHES,
        where=where,
    )
    for ax, family in zip(axes, families):
        for name, samples in curves.items():
            if family_of(name) == family:
                plot_timeline(ax, name, samples, colours[name])
        ax.set_title(FAMILIES[family], fontsize="medium")
        ax.set_xlabel("seconds of sustained load")
        ax.set_ylabel("USS per worker, MiB")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)  # from zero: a flat line looks flat, a small rise looks small
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    legends_below(figure)
    return figure


def write_memory_plot(results: Json, path: Path) -> Path | None:
    """memory_figure as a PNG at `path`; the path, or None when no variant sampled memory."""
    figure = memory_figure(results)
    return None if figure is None else save(figure, Path(path))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plots_soak", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=SOAK_RESULTS)
    parser.add_argument("--out", type=Path, help=f"the PNG (default: {PLOT_NAME} beside results)")
    args = parser.parse_args(argv)
    results = load_soak_results(args.results)
    if results is None:
        parser.error(f"no results file at {args.results}")
    written = write_memory_plot(results, args.out or args.results.with_name(PLOT_NAME))
    print(f"plot: {written}" if written else f"{args.results}: no memory samples to plot")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
