"""The article's headline table beside ours, and a short reading of the two, as Markdown: from a
headline section (benchmarks/article_headline.py) and the article's claims
(benchmarks/article_claims.py). Pure functions, no I/O: every number is computed here from those
two, none is typed."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.article_claims import (
    ARTICLE_SETTINGS,
    CLAIMED_ROWS,
    ClaimedRow,
    claimed_ceiling_rps,
    claimed_row,
)
from benchmarks.formatting import (
    FLAG,
    MISSING,
    format_number,
    format_ratio,
    markdown_table,
    not_measured_line,
    plural,
    ratio_of,
)
from benchmarks.results import Json, error_reason

BASELINE = "baseline"


@dataclass(frozen=True)
class Direction:
    """A claim the article's table makes by its order: `subject` has more of `metric` than
    `reference` ("rps": requests/s; "memory": memory per worker)."""

    subject: str
    reference: str
    metric: str


DIRECTIONS = (
    Direction("cython", "baseline", "rps"),
    Direction("pypy", "baseline", "rps"),
    Direction("pypy", "cython", "rps"),
    Direction("pypy-cython", "cython", "rps"),
    Direction("pypy-cython", "pypy", "rps"),
    Direction("pypy", "baseline", "memory"),
)
METRIC_WORDS = {
    "rps": ("serves more requests/s than", "requests/s", "requests/s"),
    "memory": ("uses more memory per worker than", "MB", "MiB, USS peak"),
}


# Our figures of a row


def measured(section: Json, variant: str) -> Json | None:
    """The variant's row if it was measured, else None."""
    for row in section.get("rows", []):
        if row["variant"] == variant and row.get("status") == "measured" and row.get("wrk"):
            return row
    return None


def our_rps(row: Json | None) -> float | None:
    return row["wrk"]["requests_per_second"] if row else None


def our_p99_ms(row: Json | None) -> float | None:
    return row["wrk"]["latency_ms"]["p99"] if row else None


def our_compute_seconds(row: Json | None) -> float | None:
    return row["compute_seconds"] if row else None


def our_memory_mib(row: Json | None) -> float | None:
    return row["wrk"].get("uss_mib_per_worker_peak") if row else None


def our_ceiling_rps(section: Json, row: Json | None) -> float | None:
    """The most our CPUs allow at our compute time: each CPU computes one request at a time."""
    compute = our_compute_seconds(row)
    return len(section["cpus"]) / compute if compute else None


def claimed_value(claim: ClaimedRow, metric: str) -> float:
    return claim.requests_per_second if metric == "rps" else claim.memory_mb_per_worker


def our_value(row: Json | None, metric: str) -> float | None:
    return our_rps(row) if metric == "rps" else our_memory_mib(row)


def caveats(section: Json, row: Json) -> list[str]:
    """Why one of our figures needs care: too few answers, or errors."""
    reasons = []
    wrk = row["wrk"]
    if wrk["requests"] < section["min_requests"]:
        reasons.append(
            f"{plural(wrk['requests'], 'request')} answered, fewer than the "
            f"{section['min_requests']} asked for"
        )
    errors = {**wrk["errors"], "total": sum(wrk["errors"].values())}
    if errors["total"]:
        reasons.append(error_reason(errors))
    return reasons


# The table


def headline_table(section: Json) -> str:
    """The article's table and ours, column by column; rows flagged ⚠ are explained below it."""
    n = section["n"]
    headers = [
        "configuration",
        "requests/s, article",
        "requests/s, ours",
        "p99 ms, article",
        "p99 ms, ours",
        f"fib({ARTICLE_SETTINGS.n}) compute s, article",
        f"fib({n}) compute s, ours",
        "memory per worker MB, article",
        "memory per worker, ours (USS MiB, peak)",
        "requests answered, ours",
    ]
    rows = [table_row(section, claim) for claim in CLAIMED_ROWS]
    lines = [setting_line(section), "", *markdown_table(headers, rows)]
    notes = table_notes(section)
    return "\n".join([*lines, *([""] if notes else []), *notes]) + "\n"


def setting_line(section: Json) -> str:
    article = ARTICLE_SETTINGS
    workers = section["workers"]
    return (
        f"GET {article.path}, {article.connections} connections. Article: "
        f"{plural(article.workers, 'worker')}, `wrk -t{article.wrk_threads} "
        f"-c{article.connections} -d{article.duration_seconds}s`. Ours: GET {section['path']}, "
        f"{plural(workers, 'worker')}, `wrk -t{section['wrk_threads']} "
        f"-c{section['connections']}`, one run per variant. {section['note']}"
    )


def table_row(section: Json, claim: ClaimedRow) -> list[str]:
    row = measured(section, claim.variant)
    flagged = f" {FLAG}" if row and caveats(section, row) else ""
    answered = (
        f"{row['wrk']['requests']:,} in {format_number(row['wrk']['duration_seconds'])} s"
        if row
        else MISSING
    )
    return [
        f"{claim.configuration} (`{claim.variant}`)",
        format_number(claim.requests_per_second),
        format_number(our_rps(row)) + flagged if row else MISSING,
        format_number(claim.p99_ms),
        format_number(our_p99_ms(row)),
        format_number(claim.compute_seconds),
        format_number(our_compute_seconds(row)),
        format_number(claim.memory_mb_per_worker),
        format_number(our_memory_mib(row)),
        answered,
    ]


def table_notes(section: Json) -> list[str]:
    """A line per flagged or unmeasured row."""
    notes = []
    for entry in section.get("rows", []):
        row = measured(section, entry["variant"])
        configuration = claimed_row(entry["variant"]).configuration
        if row is None:
            notes.append(not_measured_line(configuration, entry))
        elif reasons := caveats(section, row):
            notes.append(f"- {FLAG} {configuration}: " + "; ".join(reasons))
    return notes


# The reading


def headline_reading(section: Json) -> str:
    """What the comparison shows, each statement computed: the claims the article's own compute
    times rule out, the directions of its table that our measurement confirms or not, and the
    ratios to the baseline, claimed and ours."""
    parts = [ceiling_lines(section), direction_lines(section), ratio_lines(section)]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def ceiling_lines(section: Json) -> list[str]:
    article = ARTICLE_SETTINGS
    lines = [
        f"**The claimed rates against the article's own compute times.** A worker computes one "
        f"request at a time, so {article.workers} workers at the article's compute time of "
        f"fib({article.n}) serve at most {article.workers} / that time requests/s. Ours is the "
        f"same bound for our {plural(len(section['cpus']), 'CPU')} at our compute time of "
        f"fib({section['n']})."
    ]
    lines += [ceiling_line(section, claim) for claim in CLAIMED_ROWS]
    return lines


def ceiling_line(section: Json, claim: ClaimedRow) -> str:
    ceiling = claimed_ceiling_rps(claim)
    claimed = claim.requests_per_second
    verdict = (
        f"impossible on its face: {format_ratio(claimed / ceiling)} that bound"
        if claimed > ceiling
        else "within that bound"
    )
    row = measured(section, claim.variant)
    ours = (
        f"Ours: {format_number(our_rps(row))} requests/s, where "
        f"{format_number(our_compute_seconds(row))} s per request allows at most "
        f"{format_number(our_ceiling_rps(section, row))}"
        if row
        else "Ours: not measured"
    )
    return (
        f"- {claim.configuration}: {format_number(claimed)} requests/s claimed; "
        f"{format_number(claim.compute_seconds)} s per request allows at most "
        f"{format_number(ceiling)}, so the claim is {verdict}. {p99_verdict(claim)} {ours}."
    )


def p99_verdict(claim: ClaimedRow) -> str:
    """A request is answered no sooner than its computation ends: a p99 below the compute time
    says 99% of requests were answered before their answer was computed."""
    compute_ms = claim.compute_seconds * 1000
    relation = "below" if claim.p99_ms < compute_ms else "not below"
    verdict = ", also impossible" if claim.p99_ms < compute_ms else ""
    return (
        f"Its p99 of {format_number(claim.p99_ms)} ms is {relation} its own compute time of "
        f"{format_number(compute_ms)} ms{verdict}."
    )


def direction_lines(section: Json) -> list[str]:
    lines = ["**The directions of the article's table, by our measurement.**"]
    lines += [direction_line(section, direction) for direction in DIRECTIONS]
    return lines


def direction_line(section: Json, direction: Direction) -> str:
    subject, reference = claimed_row(direction.subject), claimed_row(direction.reference)
    verb, claimed_unit, our_unit = METRIC_WORDS[direction.metric]
    claimed_subject = claimed_value(subject, direction.metric)
    claimed_reference = claimed_value(reference, direction.metric)
    claimed = (
        f"claimed {yes_no(claimed_subject > claimed_reference)} "
        f"({format_number(claimed_subject)} vs {format_number(claimed_reference)} {claimed_unit})"
    )
    ours_subject = our_value(measured(section, direction.subject), direction.metric)
    ours_reference = our_value(measured(section, direction.reference), direction.metric)
    if ours_subject is None or ours_reference is None:
        ours = "ours: not measured"
    else:
        ours = (
            f"ours {yes_no(ours_subject > ours_reference)} ({format_number(ours_subject)} vs "
            f"{format_number(ours_reference)} {our_unit})"
        )
    return f"- {subject.configuration} {verb} {reference.configuration}: {claimed}; {ours}."


def yes_no(holds: bool) -> str:
    return "yes" if holds else "no"


def ratio_lines(section: Json) -> list[str]:
    baseline_claim = claimed_row(BASELINE)
    baseline = measured(section, BASELINE)
    lines = [f"**Ratios to the {baseline_claim.configuration}, claimed and ours.**"]
    for claim in CLAIMED_ROWS:
        if claim.variant == BASELINE:
            continue
        row = measured(section, claim.variant)
        rps_claimed = claim.requests_per_second / baseline_claim.requests_per_second
        compute_claimed = baseline_claim.compute_seconds / claim.compute_seconds
        rps_ours = ratio_of(our_rps(row), our_rps(baseline))
        compute_ours = ratio_of(our_compute_seconds(baseline), our_compute_seconds(row))
        lines.append(
            f"- {claim.configuration}: requests/s {format_ratio(rps_claimed)} claimed, "
            f"{format_ratio(rps_ours)} ours; compute speed {format_ratio(compute_claimed)} "
            f"claimed, {format_ratio(compute_ours)} ours."
        )
    return lines
