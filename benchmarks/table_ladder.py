"""The table's sections on the framework's ceiling (the ladder, per HTTP stack) and on the whole
machine (each variant with 1 and 2 workers on every CPU)."""

from __future__ import annotations

from benchmarks.formatting import (
    cell,
    cores_runs,
    display_name,
    flag,
    format_number,
    format_percent,
    format_range,
    format_ratio,
    format_seconds,
    markdown_table,
    not_measured_line,
    plural,
    ratio_of,
    run_name,
    sentence_case,
    worker_gain,
)
from benchmarks.ladder_results import (
    FLOOR,
    chosen_stack,
    handoff_sentence,
    layer_cost,
    measured_rungs,
    rung_median,
    stack_comparisons,
    stack_difference,
    stack_name,
    stacks_of,
)
from benchmarks.results import Json

# The ladder (benchmarks/ladder.py): where a cheap request's time goes, per HTTP stack.

LADDER_HEADERS = [
    "Rung",
    "Requests/s median (min–max)",
    "Share of FastAPI's floor",
    "Layer's cost: × the rung it builds on",
    "Server CPU µs/request",
    "Flag",
]


def stack_title(results: Json, stack: Json) -> str:
    name = stack_name(results, stack)
    if stack.get("chosen"):
        return f"{name} (the variants' stack)"
    chosen = chosen_stack(results, stack["interpreter"])
    if chosen is None:
        return name
    return f"{name} (measured beside the chosen {stack_difference(chosen, stack)})"


def cpu_microseconds(summary: Json) -> float | None:
    """Server CPU time per request: where the request's time went, in absolute terms."""
    cores, rps = summary.get("server_cpu_cores"), summary["requests_per_second"]["median"]
    return cores / rps * 1e6 if cores is not None and rps else None


def ladder_row(stack: Json, rung: Json) -> list[str]:
    summary = rung["summary"]
    rps = summary["requests_per_second"]
    return [
        rung["label"],
        format_range(rps),
        format_percent(ratio_of(rps["median"], rung_median(stack, FLOOR))),
        layer_cost(stack, rung),
        format_number(cpu_microseconds(summary)),
        flag(summary),
    ]


def stack_lines(results: Json, stack: Json) -> list[str]:
    lines = [f"### {stack_title(results, stack)}", ""]
    rungs = measured_rungs(stack)
    if rungs:
        lines += markdown_table(LADDER_HEADERS, (ladder_row(stack, rung) for rung in rungs))
    if stack.get("status") != "measured":
        error = cell(stack.get("error") or "no error recorded")
        lines += [*([""] if rungs else []), f"Not measured ({stack.get('status')}): {error}"]
    return lines


def ladder_note(ladder: Json) -> str:
    return (
        f"GET {ladder.get('path')} at {ladder.get('connections')} connections, "
        f"{plural(ladder.get('repeats'), 'repeat')} of "
        f"{format_seconds(ladder.get('duration_seconds'))} per rung. A stack's rungs were "
        "served side by side, pinned as in the header, and "
        "measured interleaved repeat by repeat, so ratios within a stack come from the same "
        "minutes; between stacks they do not. FastAPI's floor is a FastAPI route with our "
        "response model and no computation. A rung's layer is what it adds to the rung it "
        "builds on: the framework rungs one after the other, our contract (parsing n, the "
        "budget check, the timing) on FastAPI's floor, the thread hand-off on the variant. "
        "Server CPU µs/request is the server's CPU time over the requests it answered."
    )


def ladder_section(results: Json) -> list[str]:
    stacks = stacks_of(results)
    if not stacks:
        return []
    lines = ["## Framework ceiling (ladder)", "", ladder_note(results["ladder"])]
    for stack in stacks:
        lines += ["", *stack_lines(results, stack)]
    handoffs = [handoff_sentence(results, stack) for stack in stacks]
    derived = [s for s in handoffs if s] + stack_comparisons(results)
    if derived:
        lines += ["", *[f"- {sentence}" for sentence in derived]]
    return lines


# Whole machine (benchmarks/cores.py): each variant with 1 and 2 workers on every CPU.

CORES_HEADERS = [
    "Variant",
    "Workers",
    "Requests/s median (min–max)",
    "Server CPU cores",
    "× 1 worker",
    "Flag",
]


def cores_row(results: Json, run: Json) -> list[str]:
    summary = run["summary"]
    return [
        display_name(results, run["variant"]),
        str(run["workers"]),
        format_range(summary["requests_per_second"]),
        format_number(summary.get("server_cpu_cores")),
        format_ratio(worker_gain(results, run)),
        flag(summary),
    ]


def cores_problems(results: Json) -> list[str]:
    return [
        not_measured_line(run_name(results, run), run)
        for run in cores_runs(results)
        if not run.get("summary")
    ]


def cores_note(cores: Json) -> str:
    note = sentence_case((cores.get("note") or "CPUs not recorded").rstrip("."))
    return (
        f"{note}. GET /fib/{cores.get('n')} at "
        f"{cores.get('connections')} connections, requests/s the median over the repeats with "
        "their min–max. Server CPU cores is the CPU time of all the server's processes over "
        "wall time (2.00: two cores busy all the time); × 1 worker is requests/s over the same "
        "variant's with one worker. A worker whose code holds the GIL computes on one core at a "
        "time, however many threads it has."
    )


def cores_section(results: Json) -> list[str]:
    cores = results.get("cores")
    if not cores or not cores.get("runs"):
        return []
    rows = [cores_row(results, run) for run in cores_runs(results) if run.get("summary")]
    lines = ["## Whole machine (workers and cores)", "", cores_note(cores)]
    if rows:
        lines += ["", *markdown_table(CORES_HEADERS, rows)]
    problems = cores_problems(results)
    if problems:
        lines += ["", "Not measured, and why:", "", *problems]
    return lines
