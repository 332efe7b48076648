"""How a results file's values are written, wherever they are shown: numbers, ratios and durations,
Markdown tables, the variants' names, lookups of records and whole-machine runs, the ⚠ flag and the
facts of the environment. The table (table.py), the README section, the comparison and the plots
all read a results file through these, so they say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from benchmarks.results import Json

# The variant every speed-up is relative to.
BASELINE = "baseline"
MISSING = "—"
FLAG = "⚠"

# Numbers


def format_number(value: float | None) -> str:
    """From 100 up a whole number with thousands separators, below that 3 significant digits.

    Halves round up, as by hand (120.5 → 121), and trailing zeros stay (39.0, 0.950) so every
    cell shows the same precision.
    """
    if value is None:
        return MISSING
    exact = Decimal(str(value))  # str: the float's shortest repr, not its binary expansion
    if exact == 0:
        return "0"
    decimals = max(0, 2 - exact.adjusted())
    rounded = round_half_up(exact, decimals)
    if rounded.adjusted() > exact.adjusted() and decimals > 0:
        # 99.96 rounded to 100.0: a digit more before the point, so one fewer after it.
        rounded = round_half_up(exact, decimals - 1)
    return f"{rounded:,f}"


def round_half_up(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_ratio(ratio: float | None) -> str:
    return MISSING if ratio is None else f"{format_number(ratio)}×"


def format_percent(fraction: float | None) -> str:
    return MISSING if fraction is None else f"{format_number(fraction * 100)}%"


def format_range(spread: Json) -> str:
    """A median with its min–max over repeats: `4,050 (4,000–4,100)`."""
    low, high = format_number(spread["min"]), format_number(spread["max"])
    return f"{format_number(spread['median'])} ({low}–{high})"


def format_plain(value: float) -> str:
    """A setting as it was given: 3 for 3.0, 2.5 for 2.5."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_seconds(seconds: float) -> str:
    return f"{format_plain(seconds)} s"


def format_duration(seconds: float | None) -> str:
    """A measured time, to the table's precision: `1.23 s`."""
    return MISSING if seconds is None else f"{format_number(seconds)} s"


def ratio_of(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


# Words


def plural(count: object, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


# Markdown


def cell(text: object) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(cell(header) for header in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines.extend("| " + " | ".join(cell(value) for value in row) + " |" for row in rows)
    return lines


def join_sections(sections: Iterable[list[str]]) -> str:
    """Sections of lines as one document, a blank line between them; empty sections left out."""
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def not_measured_line(name: str, entry: Json) -> str:
    """`- PyPy + Cython (cpyext) (failed): why` for a list of what was not measured."""
    return f"- {name} ({entry.get('status')}): " + cell(entry.get("error") or "no error recorded")


# Variants and records


def recorded_display_name(results: Json, variant: str) -> str | None:
    """The name the results file gives `variant`, if it gives one."""
    entry = results.get("variants", {}).get(variant) or {}
    return entry.get("display_name") or None


def display_name(results: Json, variant: str) -> str:
    """`CPython + Cython` for `cython`; the variant's key when the file names it not."""
    return recorded_display_name(results, variant) or variant


def variant_order(results: Json, variant: str) -> tuple[int, str]:
    """Variants in the order of results["variants"]; unknown ones after them, by name."""
    names = list(results.get("variants", {}))
    return (names.index(variant), "") if variant in names else (len(names), variant)


def records_of(results: Json, tool: str) -> list[Json]:
    return [record for record in results.get("records", []) if record["tool"] == tool]


def sorted_by_load(results: Json, records: list[Json]) -> list[Json]:
    """Grouped by n, then connections, then variant."""

    def key(record: Json) -> tuple:
        n = record.get("n")
        return (n is None, n or 0, record["connections"], variant_order(results, record["variant"]))

    return sorted(records, key=key)


def baseline_median(results: Json, record: Json) -> float | None:
    """The baseline's median requests/s at the same tool, scenario, n and connections."""
    for other in results.get("records", []):
        if other["variant"] == BASELINE and same_load(other, record):
            return other["summary"]["requests_per_second"]["median"]
    return None


def same_load(a: Json, b: Json) -> bool:
    keys = ("tool", "scenario", "n", "connections")
    return all(a.get(key) == b.get(key) for key in keys)


def speed_up(results: Json, record: Json) -> float | None:
    reference = baseline_median(results, record)
    if not reference:
        return None
    return record["summary"]["requests_per_second"]["median"] / reference


# Whole-machine runs (benchmarks/cores.py): each variant with 1 and 2 workers on every CPU.


def cores_runs(results: Json) -> list[Json]:
    runs = (results.get("cores") or {}).get("runs") or []
    return sorted(runs, key=lambda run: (variant_order(results, run["variant"]), run["workers"]))


def cores_run(results: Json, variant: str, workers: int) -> Json | None:
    """The measured run of `variant` with `workers` workers, if any."""
    for run in cores_runs(results):
        if (run["variant"], run["workers"]) == (variant, workers) and run.get("summary"):
            return run
    return None


def cores_rps(run: Json | None) -> float | None:
    """The run's median requests/s; None for no run."""
    return run["summary"]["requests_per_second"]["median"] if run else None


def worker_gain(results: Json, run: Json) -> float | None:
    """Requests/s over those of the same variant with one worker."""
    return ratio_of(cores_rps(run), cores_rps(cores_run(results, run["variant"], 1)))


def run_name(results: Json, run: Json) -> str:
    """`CPython + Cython, 2 workers`."""
    return f"{display_name(results, run['variant'])}, {plural(run['workers'], 'worker')}"


# Flags


def flag(summary: Json) -> str:
    """`⚠ ` and the reasons to read a measurement with care; '' when there are none."""
    reasons = summary.get("unreliable") or []
    return f"{FLAG} " + "; ".join(reasons) if reasons else ""


def warning_mark(summary: Json) -> str:
    """` ⚠` after a figure the table flags, '' after the others."""
    return f" {FLAG}" if flag(summary) else ""


# The environment a file was measured in

UPGRADED_NOTE = (
    "written as version 1, which recorded neither end-of-run memory (—) nor warm-up timestamps "
    "(its seconds are counted 1, 2, 3, …)"
)


def when(environment: Json) -> str:
    started = environment.get("started_at") or "unknown"
    finished = environment.get("finished_at")
    text = f"{started} to {finished}" if finished else f"{started} (not finished)"
    duration = environment.get("duration_seconds")
    return f"{text} ({format_seconds(duration)})" if duration is not None else text


def commit(environment: Json) -> str:
    sha = environment.get("git_commit") or "unknown"
    dirty = " with uncommitted changes" if environment.get("git_dirty") else ""
    return f"{sha[:7]}{dirty}"


def pinning_note(pinning: Json) -> str:
    if not pinning:
        return "not recorded"
    note = pinning.get("note") or ("pinned" if pinning.get("pinned") else "not pinned")
    workers = pinning.get("workers")
    if workers is None:
        return note
    return f"{note}; {plural(workers, 'server worker')}"
