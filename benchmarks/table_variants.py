"""The table's sections per variant: how each was run and verified, its memory per worker, its
warm-up, and the micro-benchmark of fib(n) without HTTP. The README shows the memory, the plateau
and the micro-benchmark with these same cells."""

from __future__ import annotations

from benchmarks.formatting import (
    MISSING,
    cell,
    display_name,
    format_duration,
    format_number,
    format_ratio,
    markdown_table,
    not_measured_line,
)
from benchmarks.results import Json, memory_of
from benchmarks.warmup import POINT_TOLERANCE, TOLERANCE, WINDOW

# Variants


def verification_outcome(entry: Json) -> str:
    verification = entry.get("verification")
    if not verification:
        return "not run"
    checks = verification.get("checks", [])
    passed = sum(1 for check in checks if check["passed"])
    outcome = "passed" if verification.get("passed") else "failed"
    return f"{outcome} ({passed} of {len(checks)} checks)"


def variants_section(results: Json) -> list[str]:
    entries = results.get("variants", {})
    if not entries:
        return []
    headers = ["Variant", "Runtime", "Implementation", "Verification", "Status"]
    rows = [
        [
            display_name(results, name),
            entry.get("runtime") or MISSING,
            entry.get("implementation") or MISSING,
            verification_outcome(entry),
            entry.get("status", "unknown"),
        ]
        for name, entry in entries.items()
    ]
    problems = [
        not_measured_line(display_name(results, name), entry)
        for name, entry in entries.items()
        if entry.get("status") != "measured"
    ]
    lines = ["## Variants", "", *markdown_table(headers, rows)]
    if problems:
        lines += ["", "Not measured, and why:", "", *problems]
    return lines


# Warm-up


def plateau_text(warmup: Json) -> str:
    """When the plateau began, or how long the warm-up looked for one in vain."""
    if warmup.get("plateau_start_seconds") is not None:
        return format_duration(warmup["plateau_start_seconds"])
    return f"none in {format_duration(warmup['seconds'][-1])}"


def warmup_row(results: Json, name: str, warmup: Json | None) -> list[str]:
    if not warmup or not warmup.get("seconds"):
        return [display_name(results, name), MISSING, MISSING, "no warm-up data", MISSING, MISSING]
    return [
        display_name(results, name),
        str(warmup.get("n")),
        str(warmup.get("connections")),
        plateau_text(warmup),
        format_duration(warmup["seconds"][-1]),
        format_number(warmup["requests_per_second"][-1]),
    ]


def warmup_note() -> str:
    return (
        "Requests/s in 1-second wrk runs, each stamped with the seconds of load when it ended, "
        "counted from the start of the warm-up: after the health wait and the contract check, "
        "so not from the server's start (the clock includes a primer of one request per n). "
        "The runs go on until requests/s stops rising (a JIT such as PyPy's is slow until it "
        f"has compiled the hot path): the mean of the last {WINDOW} within {TOLERANCE:.0%} of "
        f"the {WINDOW} before them, so stopping takes at least {2 * WINDOW} runs. The plateau "
        "begins at the first run from which requests/s never again fell more than "
        f"{POINT_TOLERANCE:.0%} below the lowest of the last {WINDOW}; a curve that was flat "
        "from the start has its plateau at its first run."
    )


WARMUP_HEADERS = [
    "Variant",
    "n",
    "Connections",
    "Plateau from",
    "Warm-up length",
    "Requests/s at the end",
]


def warmup_section(results: Json) -> list[str]:
    entries = results.get("variants", {})
    if not entries:
        return []
    rows = [warmup_row(results, name, entry.get("warmup")) for name, entry in entries.items()]
    return ["## Warm-up", "", *markdown_table(WARMUP_HEADERS, rows), "", warmup_note()]


# Memory

MEMORY_HEADERS = [
    "Variant",
    "Peak USS MiB/worker",
    "End USS MiB/worker",
    "Peak PSS MiB/worker",
    "End PSS MiB/worker",
]


def memory_cells(memory: Json | None) -> list[str]:
    """Peak USS, end USS, peak PSS, end PSS of a variant's MEMORY."""
    keys = ("peak_uss", "end_uss", "peak_pss", "end_pss")
    return [format_number((memory or {}).get(f"{key}_mib_per_worker")) for key in keys]


def memory_note() -> str:
    return (
        "USS counts the pages only that worker uses; PSS adds its share of the pages it shares "
        "with other processes. Both are averaged over the server's workers, sampled once a "
        "second during every run and once more when its load had finished. Peak is the highest "
        "sample of any of the variant's runs; end is the last sample of its last run. A PyPy "
        "worker's heap keeps growing under load until its garbage collector is given a limit, "
        "so its end of run depends on how long it had been running."
    )


def memory_section(results: Json) -> list[str]:
    rows = [
        [display_name(results, name), *memory_cells(memory_of(results, name))]
        for name in results.get("variants", {})
        if memory_of(results, name)
    ]
    if not rows:
        return []
    return ["## Memory per worker", "", *markdown_table(MEMORY_HEADERS, rows), "", memory_note()]


# Micro-benchmark (benchmarks/micro.py)


def micro_rows(micro_results: list[Json]) -> list[list[str]]:
    c_means = [row["mean_seconds"] for row in micro_results if row["interpreter"] == "c"]
    c_mean = c_means[0] if c_means else None
    return [
        [
            row["name"],
            f"{format_number(row['mean_seconds'] * 1000)} ± "
            f"{format_number(row['stdev_seconds'] * 1000)}",
            format_ratio(row["mean_seconds"] / c_mean if c_mean else None),
        ]
        for row in micro_results
    ]


def micro_section(results: Json) -> list[str]:
    micro = results.get("micro") or {}
    if not micro.get("results") and not micro.get("error"):
        return []
    lines = [f"## Micro-benchmark: fib({micro.get('n')}) without HTTP (pyperf)", ""]
    if micro.get("results"):
        headers = ["Benchmark", "Mean ms ± stdev", "Time vs C"]
        lines += markdown_table(headers, micro_rows(micro["results"]))
        lines += ["", "Time vs C is the mean over the C row's mean: 10× is ten times slower."]
    if micro.get("error"):
        lines += ["", f"Micro-benchmark error: {cell(micro['error'])}"]
    return lines
