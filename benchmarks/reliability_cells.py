"""The cells the README's reliability tables share (reliability_table.py and the fault and hostile
tables): a row for an entry that was not measured or does not apply, durations and counts that
may be absent, answer counts, and the entries' notes as bullets.

A field the file lacks shows as MISSING; a field recorded as None says what None means for it
(no replacement, not recovered), so a reader can tell "not measured" from "did not happen".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from benchmarks.formatting import MISSING, cell, format_number
from benchmarks.results import Json

# A column of a table: its header and the cell of an entry.
Column = tuple[str, Callable[[Json], str]]


def not_applicable_cell(entry: Json) -> str | None:
    """What a row says instead of figures: why the entry was not measured, or that the part does
    not apply to the variant; None for an entry with figures."""
    if entry.get("status") != "measured":
        return f"not measured: {entry.get('error')}"
    if entry.get("outcome") == "unsupported":
        return "unsupported: " + ("; ".join(entry.get("notes") or []) or "no note recorded")
    return None


def variant_cell(name: str, entry: Json) -> str:
    """The variant's name, marked when the measurement itself judged the fault handled badly."""
    return f"{name} (**failed**)" if entry.get("outcome") == "failed" else name


def table_rows(entries: Json, columns: list[Column]) -> list[list[str]]:
    """A row per variant: its name, then each column's cell, or why it has none."""
    rows = []
    for name, entry in entries.items():
        instead = not_applicable_cell(entry)
        if instead is None:
            rows.append([variant_cell(name, entry), *[cell_of(entry) for _, cell_of in columns]])
        else:
            rows.append([name, instead, *[MISSING] * (len(columns) - 1)])
    return rows


def with_figures(entries: Json) -> list[Json]:
    """The entries that were measured and apply to their variant."""
    return [entry for entry in entries.values() if not_applicable_cell(entry) is None]


def first_value(entries: Json, key: str) -> object | None:
    """`key` of the first entry with figures that records it (a setting every entry shares)."""
    return next((e[key] for e in with_figures(entries) if e.get(key) is not None), None)


def setting(entries: Json, key: str) -> str:
    """first_value as text, MISSING when no entry records it."""
    value = first_value(entries, key)
    return MISSING if value is None else str(value)


# Cells


def seconds_of(key: str, when_none: str) -> Callable[[Json], str]:
    """A column of seconds; `when_none` for a recorded None (the event did not happen)."""

    def seconds(entry: Json) -> str:
        if key not in entry:
            return MISSING
        return when_none if entry[key] is None else format_number(entry[key])

    return seconds


def number_of(key: str) -> Callable[[Json], str]:
    return lambda entry: format_number(entry.get(key))


def count_of(key: str) -> Callable[[Json], str]:
    return lambda entry: count_text(entry.get(key))


def count_text(count: int | None) -> str:
    """A count as it was counted: 110,548 (format_number would write 79 as 79.0)."""
    return MISSING if count is None else f"{count:,}"


def yes_no(value: bool | None) -> str:
    if value is None:
        return MISSING
    return "yes" if value else "**no**"


def out_of(part: int | None, whole: int | None) -> str:
    """`4 of 4`."""
    if part is None or whole is None:
        return MISSING
    return f"{count_text(part)} of {count_text(whole)}"


def answers_cell(answers: Json | None) -> str:
    """Answer counts ({"200": 79}) as `200 (79 of 79)`, the commonest first."""
    if not answers:
        return MISSING
    total = sum(answers.values())
    ordered = Counter(answers).most_common()
    return ", ".join(f"{answer} ({out_of(count, total)})" for answer, count in ordered)


def failure_example(failures: int, examples: list[str] | None) -> str:
    """` (TimeoutError: timed out)` after a count of failures, from the recorded examples."""
    return f" ({examples[0]})" if failures and examples else ""


# Notes


def notes_lines(entries: Json) -> list[str]:
    """The notes of the entries with figures as bullets, a note the variants share said once,
    and any process the harness found left over after stopping a server."""
    by_note: dict[str, list[str]] = {}
    for name, entry in entries.items():
        if not_applicable_cell(entry) is not None:
            continue  # its note is its row
        for note in entry.get("notes") or []:
            by_note.setdefault(note, []).append(name)
        if entry.get("left_behind"):
            left = ", ".join(str(pid) for pid in entry["left_behind"])
            by_note.setdefault(f"left behind after the server was stopped: {left}", []).append(name)
    return [f"- {', '.join(names)}: {cell(note)}" for note, names in by_note.items()]
