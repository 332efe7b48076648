"""The comparison table: a results file rendered as Markdown (benchmarks/results/latest.md, and what
a run prints at its end). It reads the file alone, so a table can be rebuilt from any old run.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from benchmarks.results import (
    CV_LIMIT,
    SATURATION_LIMIT,
    Json,
    load_results,
    memory_of,
    write_atomically,
)
from benchmarks.warmup import POINT_TOLERANCE, TOLERANCE, WINDOW

# The variant every speed-up is relative to.
BASELINE = "baseline"
MISSING = "—"
FLAG = "⚠"

# How the header names the run's settings; keys not listed here are shown as they are.
SETTING_LABELS = {
    "variants": "variants",
    "n_values": "n",
    "connections": "connections",
    "repeats": "repeats",
    "duration_seconds": "seconds per repeat",
}


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


# Lookups


def display_name(results: Json, variant: str) -> str:
    entry = results.get("variants", {}).get(variant) or {}
    return entry.get("display_name") or variant


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


def flag(summary: Json) -> str:
    reasons = summary.get("unreliable") or []
    return f"{FLAG} " + "; ".join(reasons) if reasons else ""


# Sections


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


def memory_and_os(machine: Json) -> str:
    parts = []
    if machine.get("memory_gib") is not None:
        parts.append(f"{format_plain(machine['memory_gib'])} GiB")
    if machine.get("os"):
        parts.append(machine["os"])
    if machine.get("kernel"):
        parts.append(f"kernel {machine['kernel']}")
    return "".join(f", {part}" for part in parts)


def pinning_note(pinning: Json) -> str:
    if not pinning:
        return "not recorded"
    note = pinning.get("note") or ("pinned" if pinning.get("pinned") else "not pinned")
    workers = pinning.get("workers")
    if workers is None:
        return note
    return f"{note}; {workers} server worker{'s' if workers != 1 else ''}"


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


UPGRADED_NOTE = (
    "written as version 1, which recorded neither end-of-run memory (—) nor warm-up timestamps "
    "(its seconds are counted 1, 2, 3, …)"
)

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
    on_workers = f" on {workers} server worker{'s' if workers != 1 else ''}" if workers else ""
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
    headers = ["Variant", "Users", "Requests/s median (min–max)", "p50 ms", "p99 ms", "Failures"]
    rows = [
        [
            display_name(results, record["variant"]),
            str(record["connections"]),
            format_range(record["summary"]["requests_per_second"]),
            format_number(record["summary"]["latency_ms"]["p50"]),
            format_number(record["summary"]["latency_ms"]["p99"]),
            str(record["summary"]["errors"]["total"]),
            flag(record["summary"]),
        ]
        for record in records
    ]
    return [
        "## Mixed scenario (locust)",
        "",
        *markdown_table([*headers, "Flag"], rows),
        "",
        closed_loop_note(results, records, "users"),
    ]


# The ladder (benchmarks/ladder.py): where a cheap request's time goes, per HTTP stack.

INTERPRETER_NAMES = {"cpython": "CPython", "pypy": "PyPy"}
# The framework rungs, each adding one layer to the one before it.
FRAMEWORK_RUNGS = ("asgi", "starlette", "fastapi")
FLOOR = "fastapi"  # FastAPI with our response model and no computation
FLOOR_NAME = "FastAPI's floor"


def format_percent(fraction: float | None) -> str:
    return MISSING if fraction is None else f"{format_number(fraction * 100)}%"


def stacks_of(results: Json) -> list[Json]:
    return (results.get("ladder") or {}).get("stacks") or []


def runtime_of(results: Json, interpreter: str) -> str:
    entry = results.get("environment", {}).get("interpreters", {}).get(interpreter) or {}
    return entry.get("runtime") or INTERPRETER_NAMES.get(interpreter, interpreter)


def stack_name(results: Json, stack: Json) -> str:
    """`CPython 3.11.7 · uvloop + httptools`."""
    return f"{runtime_of(results, stack['interpreter'])} · {stack['loop']} + {stack['http']}"


def chosen_stack(results: Json, interpreter: str) -> Json | None:
    """The interpreter's stack in the variants' table."""
    stacks = stacks_of(results)
    return next((s for s in stacks if s["interpreter"] == interpreter and s.get("chosen")), None)


def stack_difference(stack: Json, other: Json) -> str:
    """What `stack` runs that `other` does not: `httptools`, or `uvloop + httptools`."""
    parts = [stack[key] for key in ("loop", "http") if stack[key] != other[key]]
    return " + ".join(parts) or f"{stack['loop']} + {stack['http']}"


def stack_title(results: Json, stack: Json) -> str:
    name = stack_name(results, stack)
    if stack.get("chosen"):
        return f"{name} (the variants' stack)"
    chosen = chosen_stack(results, stack["interpreter"])
    if chosen is None:
        return name
    return f"{name} (measured beside the chosen {stack_difference(chosen, stack)})"


def measured_rungs(stack: Json) -> list[Json]:
    """The rungs with a summary: an interrupted stack may hold rungs never measured."""
    return [rung for rung in stack.get("rungs", []) if rung.get("summary")]


def rung_median(stack: Json, key: str) -> float | None:
    for rung in measured_rungs(stack):
        if rung["key"] == key:
            return rung["summary"]["requests_per_second"]["median"]
    return None


def ratio_of(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


def base_key(key: str) -> str | None:
    """The rung that `key` adds one layer to: the framework rung before it, FastAPI's floor for a
    variant (our contract), the variant itself for its offloaded rung (the thread hand-off)."""
    if key.startswith("offloaded:"):
        return "variant:" + key.split(":", 1)[1]
    if key.startswith("variant:"):
        return FLOOR
    index = FRAMEWORK_RUNGS.index(key) if key in FRAMEWORK_RUNGS else 0
    return FRAMEWORK_RUNGS[index - 1] if index else None


def layer_cost(stack: Json, rung: Json) -> str:
    """`0.600× bare ASGI app`: the rung's requests/s over those of the rung it builds on."""
    base = base_key(rung["key"])
    labels = {other["key"]: other["label"] for other in measured_rungs(stack)}
    if base not in labels:
        return MISSING
    ratio = ratio_of(rung["summary"]["requests_per_second"]["median"], rung_median(stack, base))
    return f"{format_ratio(ratio)} {FLOOR_NAME if base == FLOOR else labels[base]}"


def cpu_microseconds(summary: Json) -> float | None:
    """Server CPU time per request: where the request's time went, in absolute terms."""
    cores, rps = summary.get("server_cpu_cores"), summary["requests_per_second"]["median"]
    return cores / rps * 1e6 if cores is not None and rps else None


LADDER_HEADERS = [
    "Rung",
    "Requests/s median (min–max)",
    "Share of FastAPI's floor",
    "Layer's cost: × the rung it builds on",
    "Server CPU µs/request",
    "Flag",
]


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


def handoff_sentence(results: Json, stack: Json) -> str | None:
    """What handing every computation to a worker thread (the old design) costs at n=0."""
    offloaded = [rung for rung in measured_rungs(stack) if rung["key"].startswith("offloaded:")]
    if not offloaded:
        return None
    key = offloaded[0]["key"]
    inline, handed = rung_median(stack, base_key(key)), rung_median(stack, key)
    if not inline:
        return None
    return (
        f"{stack_name(results, stack)}: handing every computation to a worker thread costs "
        f"{format_percent(1 - handed / inline)} of n=0 throughput "
        f"({display_name(results, offloaded[0]['variant'])}: {format_number(inline)} → "
        f"{format_number(handed)} requests/s)."
    )


def stack_comparison(results: Json, chosen: Json, other: Json) -> str | None:
    """The chosen stack over another of the same interpreter: its first variant and the floor."""
    variants = [r for r in measured_rungs(chosen) if r["key"].startswith("variant:")]
    if not variants:
        return None
    variant = variants[0]
    figures = []
    for key, what in ((variant["key"], f"{variant['label']} at n=0"), (FLOOR, FLOOR_NAME)):
        mine, theirs = rung_median(chosen, key), rung_median(other, key)
        if mine is not None and theirs:
            figures.append(
                f"{what} serves {format_ratio(mine / theirs)} the requests/s "
                f"({format_number(mine)} against {format_number(theirs)})"
            )
    if not figures:
        return None
    return (
        f"{runtime_of(results, chosen['interpreter'])}, {stack_difference(chosen, other)} "
        f"against {stack_difference(other, chosen)}: " + "; ".join(figures) + "."
    )


def stack_comparisons(results: Json) -> list[str]:
    """Each stack measured beside a chosen one, compared with it."""
    sentences = []
    for stack in stacks_of(results):
        chosen = None if stack.get("chosen") else chosen_stack(results, stack["interpreter"])
        sentence = stack_comparison(results, chosen, stack) if chosen else None
        if sentence:
            sentences.append(sentence)
    return sentences


def plural(count: object, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
    return run["summary"]["requests_per_second"]["median"] if run else None


def worker_gain(results: Json, run: Json) -> float | None:
    """Requests/s over those of the same variant with one worker."""
    return ratio_of(cores_rps(run), cores_rps(cores_run(results, run["variant"], 1)))


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


def run_name(results: Json, run: Json) -> str:
    """`CPython + Cython, 2 workers`."""
    return f"{display_name(results, run['variant'])}, {plural(run['workers'], 'worker')}"


def cores_problems(results: Json) -> list[str]:
    return [
        f"- {run_name(results, run)} ({run.get('status')}): "
        + cell(run.get("error") or "no error recorded")
        for run in cores_runs(results)
        if not run.get("summary")
    ]


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


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
            entry.get("display_name") or name,
            entry.get("runtime") or MISSING,
            entry.get("implementation") or MISSING,
            verification_outcome(entry),
            entry.get("status", "unknown"),
        ]
        for name, entry in entries.items()
    ]
    problems = [
        f"- {display_name(results, name)} ({entry.get('status')}): "
        + cell(entry.get("error") or "no error recorded")
        for name, entry in entries.items()
        if entry.get("status") != "measured"
    ]
    lines = ["## Variants", "", *markdown_table(headers, rows)]
    if problems:
        lines += ["", "Not measured, and why:", "", *problems]
    return lines


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


def warmup_section(results: Json) -> list[str]:
    entries = results.get("variants", {})
    if not entries:
        return []
    headers = [
        "Variant",
        "n",
        "Connections",
        "Plateau from",
        "Warm-up length",
        "Requests/s at the end",
    ]
    rows = [warmup_row(results, name, entry.get("warmup")) for name, entry in entries.items()]
    return ["## Warm-up", "", *markdown_table(headers, rows), "", warmup_note()]


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


def memory_section(results: Json) -> list[str]:
    rows = [
        [display_name(results, name), *memory_cells(memory_of(results, name))]
        for name in results.get("variants", {})
        if memory_of(results, name)
    ]
    if not rows:
        return []
    return [
        "## Memory per worker",
        "",
        *markdown_table(MEMORY_HEADERS, rows),
        "",
        memory_note(),
    ]


def memory_note() -> str:
    return (
        "USS counts the pages only that worker uses; PSS adds its share of the pages it shares "
        "with other processes. Both are averaged over the server's workers, sampled once a "
        "second during every run and once more when its load had finished. Peak is the highest "
        "sample of any of the variant's runs; end is the last sample of its last run. A PyPy "
        "worker's heap keeps growing under load until its garbage collector is given a limit, "
        "so its end of run depends on how long it had been running."
    )


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


def render_table(results: Json) -> str:
    """The whole report as Markdown; the same file always gives the same text."""
    sections = [
        header_lines(results),
        wrk_section(results),
        locust_section(results),
        ladder_section(results),
        cores_section(results),
        variants_section(results),
        memory_section(results),
        warmup_section(results),
        micro_section(results),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def write_table(results_path: Path, out_path: Path) -> Path:
    """Render the results file at `results_path` to `out_path`; return `out_path`."""
    write_atomically(out_path, render_table(load_results(results_path)))
    return out_path
