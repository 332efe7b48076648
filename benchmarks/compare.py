"""Two results files side by side: for each record measured in both, the change in mean requests/s
and whether it is more than the noise between repeats (a two-sample Welch's t-test at 95%).

One statistic throughout: the ratio is new mean / old mean, and Welch's t tests the difference of
the same means. (Medians with a rank test would not do: with three repeats a side, the
Mann-Whitney test cannot reach 95%.) The repeats of a record run back to back against one server
process, so their spread is the noise within one run of the harness; the rendered comparison
says what a verdict can and cannot mean.
"""

from __future__ import annotations

import math
import statistics

from benchmarks.formatting import (
    cell,
    commit,
    format_number,
    format_ratio,
    join_sections,
    markdown_table,
    pinning_note,
    recorded_display_name,
)
from benchmarks.results import Json

RECORD_KEY = ("variant", "tool", "scenario", "n", "connections")
FASTER, SLOWER = "faster", "slower"
NOT_SIGNIFICANT, TOO_FEW_REPEATS = "not significant", "too few repeats"
NO_SPREAD = "no spread measured"

# Student's t, two-sided 95% (the 0.975 quantile), by degrees of freedom; the last is the normal.
T_CRITICAL_95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
    math.inf: 1.960,
}  # fmt: skip


def t_critical(degrees_of_freedom: float) -> float:
    """The two-sided 95% critical value of Student's t.

    Welch's degrees of freedom are fractional: they are rounded down to the table, which makes
    the value a little larger, so the test errs towards "not significant".
    """
    usable = [df for df in T_CRITICAL_95 if df <= max(degrees_of_freedom, 1)]
    return T_CRITICAL_95[max(usable)]


def welch_t(old: list[float], new: list[float]) -> tuple[float, float]:
    """Welch's t statistic of new - old and its Welch–Satterthwaite degrees of freedom.

    Needs two or more values on each side and a nonzero variance on at least one.
    """
    old_term = statistics.variance(old) / len(old)
    new_term = statistics.variance(new) / len(new)
    standard_error_squared = old_term + new_term
    t = (statistics.fmean(new) - statistics.fmean(old)) / math.sqrt(standard_error_squared)
    df = standard_error_squared**2 / (old_term**2 / (len(old) - 1) + new_term**2 / (len(new) - 1))
    return t, df


def verdict(old: list[float], new: list[float]) -> str:
    """Whether the mean of `new` requests/s is significantly higher ("faster") or lower
    ("slower") than the mean of `old`."""
    if len(old) < 2 or len(new) < 2:
        return TOO_FEW_REPEATS
    if statistics.variance(old) == 0 and statistics.variance(new) == 0:
        # Identical repeats say nothing about the noise (rounding, a stuck counter), so no
        # difference can be weighed against it: t would be infinite, not meaningful.
        return NO_SPREAD
    t, df = welch_t(old, new)
    if abs(t) <= t_critical(df):
        return NOT_SIGNIFICANT
    return FASTER if t > 0 else SLOWER


def record_key(record: Json) -> tuple:
    return tuple(record.get(field) for field in RECORD_KEY)


def records_by_key(results: Json) -> dict[tuple, Json]:
    """The records by what they measured; of two with the same key the later one counts."""
    return {record_key(record): record for record in results.get("records", [])}


def per_repeat_rps(record: Json) -> list[float]:
    return [repeat["requests_per_second"] for repeat in record.get("repeats", [])]


def mean_rps(record: Json) -> float:
    return statistics.fmean(per_repeat_rps(record))


def ordered_keys(results: Json, keys: set[tuple]) -> list[tuple]:
    """By tool (in the file's order), scenario, n, connections, then variant (file's order)."""
    tools = list(dict.fromkeys(record["tool"] for record in results.get("records", [])))
    variants = list(results.get("variants", {}))

    def sort_key(key: tuple) -> tuple:
        variant, tool, scenario, n, connections = key
        return (
            tools.index(tool) if tool in tools else len(tools),
            scenario or "",
            n is None,
            n or 0,
            connections or 0,
            variants.index(variant) if variant in variants else len(variants),
            variant,
        )

    return sorted(keys, key=sort_key)


def compare_records(old_record: Json, new_record: Json) -> Json:
    old_mean, new_mean = mean_rps(old_record), mean_rps(new_record)
    return {
        **dict(zip(RECORD_KEY, record_key(new_record))),
        "old_rps": old_mean,
        "new_rps": new_mean,
        "ratio": new_mean / old_mean if old_mean else None,
        "verdict": verdict(per_repeat_rps(old_record), per_repeat_rps(new_record)),
    }


def compare(old: Json, new: Json) -> list[Json]:
    """One row per record in both files (matched by variant, tool, scenario, n, connections):
    old and new mean requests/s over the repeats, their ratio new/old, and the t-test's
    verdict on those means."""
    old_records, new_records = records_by_key(old), records_by_key(new)
    shared = ordered_keys(new, set(old_records) & set(new_records))
    return [compare_records(old_records[key], new_records[key]) for key in shared]


def only_in_one(old: Json, new: Json) -> tuple[list[Json], list[Json]]:
    """The keys of the records only in `old`, and of those only in `new`, as dicts."""
    old_keys, new_keys = set(records_by_key(old)), set(records_by_key(new))
    return (
        [dict(zip(RECORD_KEY, key)) for key in ordered_keys(old, old_keys - new_keys)],
        [dict(zip(RECORD_KEY, key)) for key in ordered_keys(new, new_keys - old_keys)],
    )


def display_name_in_either(new: Json, old: Json, variant: str) -> str:
    """The variant's name in the new file, else in the old one (a variant may be in one only)."""
    return recorded_display_name(new, variant) or recorded_display_name(old, variant) or variant


def describe_load(row: Json) -> str:
    n = "" if row.get("n") is None else f", n = {row['n']}"
    # locust simulates users; wrk opens connections.
    clients = "users" if row["tool"] == "locust" else "connections"
    return f"{row['tool']} {row['scenario']}{n}, {row['connections']} {clients}"


def environments(old: Json, new: Json, old_name: str, new_name: str) -> list[str]:
    """Where each file was measured; a speed-up means little across machines or pinnings."""

    def facts(results: Json) -> list[str]:
        environment = results.get("environment", {})
        return [
            commit(environment),
            environment.get("machine", {}).get("cpu_model", "unknown"),
            pinning_note(environment.get("pinning", {})),
            str(environment.get("started_at", "unknown")),
        ]

    labels = ["Git commit", "CPU", "Pinning", "Started"]
    old_facts, new_facts = facts(old), facts(new)
    lines = markdown_table(["", old_name, new_name], map(list, zip(labels, old_facts, new_facts)))
    if old_facts[1:3] != new_facts[1:3]:
        lines += ["", "⚠ The two files were measured on different CPUs or with different pinning."]
    return lines


def comparison_table(rows: list[Json], old: Json, new: Json) -> list[str]:
    headers = ["Variant", "Load", "Old req/s (mean)", "New req/s (mean)", "New/old", "Verdict"]
    return markdown_table(
        headers,
        (
            [
                display_name_in_either(new, old, row["variant"]),
                describe_load(row),
                format_number(row["old_rps"]),
                format_number(row["new_rps"]),
                format_ratio(row["ratio"]),
                row["verdict"],
            ]
            for row in rows
        ),
    )


def unmatched_lines(name: str, keys: list[Json], old: Json, new: Json) -> list[str]:
    if not keys:
        return []
    return [
        f"Only in {name}:",
        "",
        *(
            f"- {cell(display_name_in_either(new, old, key['variant']))}: {describe_load(key)}"
            for key in keys
        ),
    ]


def what_the_verdict_means() -> str:
    return (
        "Requests/s is the mean over the repeats; New/old is the ratio of those means. The "
        "verdict is a two-sided Welch's t-test of the same means at 95%, from the per-repeat "
        f"requests/s; it needs two or more repeats on each side (else: {TOO_FEW_REPEATS}), and "
        f"some spread between them (else: {NO_SPREAD}). What it can mean: the difference is "
        "larger than the noise between the repeats of one row. What it cannot mean: that the "
        "difference would come back in another run. The repeats of a row run back to back "
        "against one server process, so they do not capture run-to-run variance (another "
        "server start, memory layout, machine state, time of day); only several runs of each "
        "file, interleaved, show that."
    )


def render_comparison(old: Json, new: Json, old_name: str, new_name: str) -> str:
    """The comparison as Markdown: environments, matched records, then the unmatched ones."""
    rows = compare(old, new)
    only_old, only_new = only_in_one(old, new)
    sections = [
        [f"# {old_name} → {new_name}"],
        environments(old, new, old_name, new_name),
        comparison_table(rows, old, new) if rows else ["No record is in both files."],
        [what_the_verdict_means()],
        unmatched_lines(old_name, only_old, old, new),
        unmatched_lines(new_name, only_new, old, new),
    ]
    return join_sections(sections)
