"""The table's section on the case study: each flavour of the fraud-scoring service under wrk
(POST /score, a different realistic body each request) and under the Locust scenario."""

from __future__ import annotations

from benchmarks.formatting import (
    flag,
    format_number,
    format_range,
    format_ratio,
    format_seconds,
    markdown_table,
    not_measured_line,
)
from benchmarks.results import Json
from benchmarks.scoring_results import (
    cpu_us_per_request,
    gain_over_as_written,
    measured_flavours,
    scoring_entries,
    warm_after_seconds,
    wrk_summary,
)

WRK_HEADERS = [
    "Flavour",
    "Engine",
    "Validation",
    "Requests/s median (min–max)",
    "× as written",
    "p50 ms",
    "p99 ms",
    "Server CPU µs/request",
    "Peak PSS MiB/worker",
    "Warm after (s)",
    "Flag",
]
LOCUST_HEADERS = [
    "Flavour",
    "Users",
    "Runs",
    "Requests/s median (min–max)",
    "p50 ms",
    "p99 ms",
    "Failures",
    "Flag",
]


def engine_cell(entry: Json) -> str:
    compiled = {True: ", compiled", False: "", None: ""}[entry.get("compiled")]
    return f"{entry['engine']}{compiled}"


def wrk_row(results: Json, name: str, entry: Json) -> list[str]:
    summary = wrk_summary(entry)
    memory = entry.get("memory") or {}
    return [
        entry["display_name"],
        engine_cell(entry),
        entry["validation"],
        format_range(summary["requests_per_second"]),
        format_ratio(gain_over_as_written(results, name)),
        format_number(summary["latency_ms"]["p50"]),
        format_number(summary["latency_ms"]["p99"]),
        format_number(cpu_us_per_request(summary)),
        format_number(memory.get("peak_pss_mib_per_worker")),
        format_number(warm_after_seconds(entry)),
        flag(summary),
    ]


def locust_row(entry: Json) -> list[str]:
    load = entry["locust"]
    summary = load["summary"]
    return [
        entry["display_name"],
        str(load["connections"]),
        f"{len(load['repeats'])} × {format_seconds(load['duration_seconds'])}",
        format_range(summary["requests_per_second"]),
        format_number(summary["latency_ms"]["p50"]),
        format_number(summary["latency_ms"]["p99"]),
        str(summary["errors"].get("failures", 0)),
        flag(summary),
    ]


def scoring_note(section: Json) -> str:
    bodies = section.get("bodies") or {}
    return (
        f"POST {section.get('path')} with wrk at {section.get('connections')} connections, one "
        f"worker on the server's CPUs, {section.get('repeats')} runs of "
        f"{format_number(section.get('duration_seconds'))} s per flavour after its warm-up; each "
        f"request carries the next of {bodies.get('count')} generated transactions (seed "
        f"{bodies.get('seed')}, {bodies.get('history_length')}-entry histories). Every flavour "
        "first answered the golden corpus exactly over HTTP. × as written is requests/s over the "
        "service as written on CPython; server CPU µs/request is the server's CPU time over the "
        "requests it answered; warm after is when requests/s stopped rising during the warm-up."
    )


def scoring_section(results: Json) -> list[str]:
    section = results.get("scoring")
    if not section or not section.get("variants"):
        return []
    measured = measured_flavours(results)
    lines = ["## Case study: fraud scoring (case-study/)", "", scoring_note(section)]
    if measured:
        rows = [wrk_row(results, name, entry) for name, entry in measured.items()]
        lines += ["", *markdown_table(WRK_HEADERS, rows)]
    with_locust = [entry for entry in measured.values() if entry.get("locust")]
    if with_locust:
        lines += [
            "",
            "The Locust scenario (mostly transactions, 1 in 20 a malformed request that must get "
            "its 422, 1 in 20 /health; every answer checked against the plain engine's), each run "
            "a fresh Locust process; latencies are the medians of the runs' percentiles, failures "
            "their sum (files measured before Locust was repeated have one run per flavour, "
            "flagged):",
            "",
            *markdown_table(LOCUST_HEADERS, [locust_row(entry) for entry in with_locust]),
        ]
    problems = [
        not_measured_line(entry["display_name"], entry)
        for entry in scoring_entries(results).values()
        if entry["status"] != "measured"
    ]
    if problems:
        lines += ["", "Not measured, and why:", "", *problems]
    return lines
