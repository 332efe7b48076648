"""The comparison table: a results file rendered as Markdown (benchmarks/results/latest.md, and what
a run prints at its end). It reads the file alone, so a table can be rebuilt from any old run.

This module holds the header and the load tests (wrk, locust); table_ladder.py the ladder and the
whole machine; table_variants.py the sections per variant and the micro-benchmark.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.formatting import (
    FLAG,
    MISSING,
    UPGRADED_NOTE,
    commit,
    display_name,
    flag,
    format_number,
    format_plain,
    format_range,
    format_ratio,
    format_seconds,
    join_sections,
    markdown_table,
    pinning_note,
    plural,
    records_of,
    sorted_by_load,
    speed_up,
    when,
)
from benchmarks.results import CV_LIMIT, SATURATION_LIMIT, Json, load_results, write_atomically
from benchmarks.table_ladder import cores_section, ladder_section
from benchmarks.table_scoring import scoring_section
from benchmarks.table_variants import (
    memory_section,
    micro_section,
    variants_section,
    warmup_section,
)

# How the header names the run's settings; keys not listed here are shown as they are.
SETTING_LABELS = {
    "variants": "variants",
    "n_values": "n",
    "connections": "connections",
    "repeats": "repeats",
    "duration_seconds": "seconds per repeat",
}

# Header


def header_lines(results: Json) -> list[str]:
    environment = results.get("environment", {})
    machine = environment.get("machine", {})
    pinning = environment.get("pinning", {})
    lines = [
        "# Benchmark results",
        "",
        f"- When: {when(environment)}",
        f"- Git commit: {commit(environment)}",
        f"- CPU: {machine.get('cpu_model', 'unknown')}, {machine.get('cores', '?')} cores"
        + memory_and_os(machine),
        f"- Pinning: {pinning_note(pinning)}",
        f"- Interpreters: {interpreters(environment.get('interpreters', {}))}",
    ]
    if environment.get("tools"):
        tools = ", ".join(f"{name} {version}" for name, version in environment["tools"].items())
        lines.append(f"- Tools: {tools}")
    lines.append(f"- Settings: {settings(environment.get('settings', {}))}")
    if results.get("upgraded_from_version") == 1:
        lines.append(f"- Format: {UPGRADED_NOTE}")
    durations = record_durations(results)
    if durations:
        lines.append(f"- Length of one repeat, as recorded: {durations}")
    return lines


def memory_and_os(machine: Json) -> str:
    parts = []
    if machine.get("memory_gib") is not None:
        parts.append(f"{format_plain(machine['memory_gib'])} GiB")
    if machine.get("os"):
        parts.append(machine["os"])
    if machine.get("kernel"):
        parts.append(f"kernel {machine['kernel']}")
    return "".join(f", {part}" for part in parts)


def interpreters(entries: Json) -> str:
    """Each runtime with its package versions: a difference there is part of the comparison."""
    described = []
    for entry in entries.values():
        packages = ", ".join(f"{name} {v}" for name, v in (entry.get("packages") or {}).items())
        described.append(f"{entry['runtime']} ({packages})" if packages else entry["runtime"])
    return "; ".join(described) or "unknown"


def settings(values: Json) -> str:
    parts = []
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        shown = ", ".join(format_plain(item) for item in items)
        parts.append(f"{SETTING_LABELS.get(key, key.replace('_', ' '))}: {shown}")
    return "; ".join(parts) or "unknown"


def record_durations(results: Json) -> str:
    """The length of one repeat per tool, as the records say (the settings may not name all)."""
    durations: dict[str, set[float]] = {}
    for record in results.get("records", []):
        durations.setdefault(record["tool"], set()).add(record["duration_seconds"])
    return ", ".join(
        f"{tool} " + " and ".join(format_seconds(s) for s in sorted(seconds))
        for tool, seconds in durations.items()
    )


# Load tests

WRK_HEADERS = [
    "Variant",
    "n",
    "Connections",
    "Requests/s median (min–max)",
    "Speed-up vs baseline",
    "p50 ms",
    "p99 ms",
    "Errors",
    "Compute ms (server)",
    "Peak USS MiB/worker",
    "End USS MiB/worker",
    "Server CPU cores",
    "Flag",
]
LOCUST_HEADERS = [
    "Variant",
    "Users",
    "Requests/s median (min–max)",
    "p50 ms",
    "p99 ms",
    "Failures",
    "Flag",
]


def wrk_row(results: Json, record: Json) -> list[str]:
    summary = record["summary"]
    compute = summary.get("compute_time_ms")
    return [
        display_name(results, record["variant"]),
        str(record["n"]),
        str(record["connections"]),
        format_range(summary["requests_per_second"]),
        format_ratio(speed_up(results, record)),
        format_number(summary["latency_ms"]["p50"]),
        format_number(summary["latency_ms"]["p99"]),
        str(summary["errors"]["total"]),
        format_number(compute["median"]) if compute else MISSING,
        format_number(summary.get("uss_mib_per_worker_peak")),
        format_number(summary.get("uss_mib_per_worker_end")),
        format_number(summary.get("server_cpu_cores")),
        flag(summary),
    ]


def locust_row(results: Json, record: Json) -> list[str]:
    summary = record["summary"]
    return [
        display_name(results, record["variant"]),
        str(record["connections"]),
        format_range(summary["requests_per_second"]),
        format_number(summary["latency_ms"]["p50"]),
        format_number(summary["latency_ms"]["p99"]),
        str(summary["errors"]["total"]),
        flag(summary),
    ]


def flag_note() -> str:
    return (
        f"{FLAG} marks a row to read with care: it has fewer than two repeats (so no spread was "
        "measured), or any error (a connection error, a timeout, an answer other than 2xx, a "
        f"Locust failure), or requests/s varied by more than {CV_LIMIT:.0%} (coefficient of "
        "variation) over the repeats, or the load generator used more than "
        f"{SATURATION_LIMIT:.0%} of its cores, so it may have limited the rate instead of the "
        "server."
    )


def closed_loop_note(results: Json, records: list[Json], clients: str) -> str:
    """Why these latencies are not those of clients arriving at a fixed rate (coordinated
    omission), and what the median measures when many requests are in flight."""
    most = max(record["connections"] for record in records)
    workers = results.get("environment", {}).get("pinning", {}).get("workers")
    on_workers = f" on {plural(workers, 'server worker')}" if workers else ""
    return (
        f"Latency is measured in a closed loop: each of the {clients} sends its next request "
        "only when the previous answer has arrived, so a fixed number of requests is in flight. "
        "While the server stalls, fewer requests are sent, so slow moments are sampled less "
        "often than clients arriving at a fixed rate would meet them (coordinated omission): "
        "these percentiles understate the latency under a fixed arrival rate. And with many "
        "requests in flight per worker, a request mostly waits behind the others: at "
        f"{most} {clients}{on_workers}, p50 is mostly queueing, not service time."
    )


def wrk_section(results: Json) -> list[str]:
    records = sorted_by_load(results, records_of(results, "wrk"))
    if not records:
        return []
    return [
        "## Requests per second (wrk, GET /fib/n)",
        "",
        *markdown_table(WRK_HEADERS, (wrk_row(results, r) for r in records)),
        "",
        "Requests/s is the median over the repeats, with their min–max; requests count 2xx "
        "answers only. The speed-up is that median over the baseline's at the same n and "
        "connections. Latencies are medians of the repeats' percentiles; errors are summed over "
        "the repeats; compute ms is the time the server reports for computing fib(n); server "
        "CPU is the median over the repeats. Memory is USS per worker, sampled once a second "
        "and when the load had finished: the peak is the highest sample of any repeat, the end "
        "the last sample of the last repeat.",
        "",
        closed_loop_note(results, records, "connections"),
        "",
        flag_note(),
    ]


def locust_section(results: Json) -> list[str]:
    records = sorted_by_load(results, records_of(results, "locust"))
    if not records:
        return []
    return [
        "## Mixed scenario (locust)",
        "",
        *markdown_table(LOCUST_HEADERS, (locust_row(results, r) for r in records)),
        "",
        closed_loop_note(results, records, "users"),
    ]


# The whole table


def render_table(results: Json) -> str:
    """The whole table as Markdown; the same file always gives the same text."""
    return join_sections(
        [
            header_lines(results),
            wrk_section(results),
            locust_section(results),
            ladder_section(results),
            cores_section(results),
            scoring_section(results),
            variants_section(results),
            memory_section(results),
            warmup_section(results),
            micro_section(results),
        ]
    )


def write_table(results_path: Path, out_path: Path) -> Path:
    """Render the results file at `results_path` to `out_path`; return `out_path`."""
    write_atomically(out_path, render_table(load_results(results_path)))
    return out_path
