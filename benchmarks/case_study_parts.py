"""The figures of the case study (case-study/fraud-detection-migration.md), each part as Markdown
lines from a results file's "scoring" section, the profile's shares file and case-study/capacity.py.
benchmarks/case_study_doc.py puts them between the document's markers. Without the section every
part says what to run instead of showing a figure."""

from __future__ import annotations

from benchmarks.formatting import (
    commit,
    format_duration,
    format_number,
    format_percent,
    format_ratio,
    markdown_table,
    not_measured_line,
    ratio_of,
    when,
)
from benchmarks.results import Json
from benchmarks.scoring_results import (
    AS_WRITTEN,
    cpu_us_per_request,
    gain_over_as_written,
    measured_flavours,
    scoring_entries,
)
from benchmarks.table_scoring import WRK_HEADERS, scoring_note, wrk_row
from capacity import (
    P99_TARGET_MS,
    SUPERVISOR_ALLOWANCE_MIB,
    TARGET_RPS,
    UTILISATION_CEILING,
    WORKERS_PER_TASK,
    CapacityPlan,
    plan_all,
)
from cloud_prices import FARGATE_US_EAST_1

NOT_MEASURED = (
    "_Not measured yet: run `make bench` (it measures the six flavours and regenerates this)._"
)
NOT_PROFILED = (
    "_Not profiled yet: run `make profile VARIANT=scoring` (it writes "
    "case-study/profiles/scoring.shares.json and scoring.svg), then "
    "`python -m benchmarks.case_study_doc update`._"
)
# The article's one checkable-looking figure: its migrations made services "exactly 40%" faster,
# read here as 1.40× the requests/s of the service as written.
ARTICLE_CLAIM = '"exactly 40%" faster'
ARTICLE_FASTER = 0.40
INTERPRETERS = {"cpython": "CPython", "pypy": "PyPy"}
# The categories of benchmarks/profile_shares.py, which defines them by the frames on each stack.
PROFILE_PARTS = {
    "engine": "the engine (fraud_scoring)",
    "validation": "request validation (pydantic-core also parses the request's JSON)",
    "json": "JSON encoding of the answer",
    "framework": "FastAPI, Starlette, anyio",
    "server": "uvicorn, the event loop, the HTTP parser",
    "other": "the endpoint's own code, and anything else",
}


def has_scoring(results: Json) -> bool:
    return bool(measured_flavours(results))


def name_of(results: Json, flavour: str) -> str:
    return (scoring_entries(results).get(flavour) or {}).get("display_name") or flavour


# The throughput table


def verification_sentence(results: Json) -> str:
    entry = next(iter(measured_flavours(results).values()))
    checks = [check["name"] for check in (entry.get("verification") or {}).get("checks", [])]
    return (
        "Before any load, the harness checked each flavour over HTTP: "
        + "; ".join(checks)
        + ". A flavour that fails a check is not measured, and is listed below with the reason."
    )


def throughput_lines(results: Json) -> list[str]:
    if not has_scoring(results):
        return [NOT_MEASURED]
    environment = results["environment"]
    machine = environment.get("machine") or {}
    rows = [wrk_row(results, name, entry) for name, entry in measured_flavours(results).items()]
    lines = [
        f"Measured {when(environment)} on {machine.get('cpu_model')} "
        f"({machine.get('cores')} cores), commit {commit(environment)}; the full table, with the "
        "Locust scenario: [`benchmarks/results/latest.md`](../benchmarks/results/latest.md).",
        "",
        scoring_note(results["scoring"]),
        "",
        verification_sentence(results),
        "",
        *markdown_table(WRK_HEADERS, rows),
    ]
    missing = [
        not_measured_line(entry["display_name"], entry)
        for entry in scoring_entries(results).values()
        if entry["status"] != "measured"
    ]
    return [*lines, "", "Not measured, and why:", "", *missing] if missing else lines


# The profile, and Amdahl's prediction against the measurement


def implied_engine_speed_up(gain: float, engine_share: float) -> float | None:
    """How much faster the engine alone must have got for the whole request to gain `gain`
    (Amdahl's law solved for the part); None when even an engine taking no time would not."""
    rest = 1 / gain - (1 - engine_share)
    return engine_share / rest if rest > 0 else None


def cpu_gain_over_as_written(results: Json, name: str) -> float | None:
    """Requests per CPU-second over the service as written's: what Amdahl's ceiling bounds."""
    flavours = measured_flavours(results)
    if name not in flavours or AS_WRITTEN not in flavours:
        return None
    mine, base = (cpu_us_per_request(flavours[key]["wrk"]["summary"]) for key in (name, AS_WRITTEN))
    return ratio_of(base, mine)


def amdahl_rows(results: Json, engine_share: float, ceiling: float | None) -> list[list[str]]:
    rows = []
    for name, entry in measured_flavours(results).items():
        gain = cpu_gain_over_as_written(results, name)
        if not entry.get("compiled") or gain is None:
            continue
        share_of_possible = ratio_of(gain - 1, ceiling - 1) if ceiling and ceiling > 1 else None
        engine = implied_engine_speed_up(gain, engine_share)
        rows.append(
            [
                entry["display_name"],
                format_ratio(gain),
                format_percent(share_of_possible),
                format_ratio(engine) if engine else "more than an engine taking no time",
            ]
        )
    return rows


def profile_lines(results: Json, shares: Json | None) -> list[str]:
    if not shares:
        return [NOT_PROFILED]
    parts = shares.get("shares") or {}
    amdahl = shares.get("amdahl") or {}
    engine_share, ceiling = amdahl.get("engine_share"), amdahl.get("ceiling")
    lines = [
        f"{name_of(results, shares.get('variant') or AS_WRITTEN)} ({shares.get('interpreter')}) "
        f"under load, sampled by {shares.get('profiler')}: {format_number(shares.get('samples'))} "
        f"samples over {format_duration(shares.get('seconds'))}; flame graph: "
        "[`profiles/scoring.svg`](profiles/scoring.svg).",
        "",
        *markdown_table(
            ["Where the server's time went", "Share of the samples"],
            [[label, format_percent(parts.get(key))] for key, label in PROFILE_PARTS.items()],
        ),
        "",
        f"Amdahl's law: with the engine at {format_percent(engine_share)} of the samples, an "
        "engine that took no time at all would serve at most "
        f"{format_ratio(ceiling) if ceiling else 'unboundedly many'} as many requests per "
        "CPU-second. That is the prediction; the measurement of the compiled flavours:",
        "",
    ]
    if not has_scoring(results) or engine_share is None:
        return [*lines, NOT_MEASURED]
    headers = [
        "Flavour", "Requests per CPU-second, × as written", "Of the possible gain",
        "So the engine alone ran",
    ]  # fmt: skip
    return [*lines, *markdown_table(headers, amdahl_rows(results, engine_share, ceiling))]


# Step 5: capacity and cost

CAPACITY_HEADERS = [
    "Flavour", "Requests per CPU-second", "vCPUs (workers)", "Tasks (vCPUs each)",
    "Memory needed MiB", "Billed GB", "$ per hour", "$ per million requests",
]  # fmt: skip


def p99_cell(plan: CapacityPlan) -> str:
    measured = f"{format_number(plan.flavour.p99_ms)} ms"
    if plan.meets_p99_target:
        return f"yes ({measured})"
    return f"no: {measured} at full load on one worker; not extrapolated to lower loads"


def capacity_row(plan: CapacityPlan) -> list[str]:
    return [
        plan.flavour.display_name,
        format_number(plan.requests_per_cpu_second),
        str(plan.vcpus),
        " + ".join(str(size) for size in plan.task_vcpus),
        format_number(plan.memory_mib),
        str(plan.billed_gb),
        f"${format_number(plan.usd_per_hour)}",
        f"${format_number(plan.usd_per_million_requests)}",
        p99_cell(plan),
    ]


def capacity_assumptions(target_rps: float, p99_target_ms: float) -> str:
    price = FARGATE_US_EAST_1
    allowances = ", ".join(
        f"{mib} MiB on {INTERPRETERS[key]}" for key, mib in SUPERVISOR_ALLOWANCE_MIB.items()
    )
    return (
        f"To serve {format_number(target_rps)} requests/s with p99 at most "
        f"{format_number(p99_target_ms)} ms: one worker per vCPU, each planned at "
        f"{format_percent(UTILISATION_CEILING)} of what it served at saturation; tasks of "
        f"{WORKERS_PER_TASK} workers (the last may be smaller); memory = workers × peak PSS per "
        f"worker + the supervisor's allowance per task ({allowances}); billed memory in whole GB, "
        f"at least {price.min_gb_per_vcpu} GB per vCPU ([task sizes]({price.task_sizes_source})). "
        f"Prices: {price.provider}, {price.platform}, {price.region}: "
        f"${price.usd_per_vcpu_hour} per vCPU-hour and ${price.usd_per_gb_hour} per GB-hour "
        f"([source]({price.source}); {price.checked})."
    )


def capacity_lines(
    results: Json, target_rps: float | None = None, p99_target_ms: float | None = None
) -> list[str]:
    target = target_rps or TARGET_RPS
    p99_target = p99_target_ms or P99_TARGET_MS
    if not has_scoring(results):
        return [capacity_assumptions(target, p99_target), "", NOT_MEASURED]
    cpu = (results["environment"].get("machine") or {}).get("cpu_model")
    headers = [*CAPACITY_HEADERS, f"p99 ≤ {format_number(p99_target)} ms?"]
    plans = plan_all(results, target, p99_target)
    return [
        capacity_assumptions(target, p99_target),
        "",
        *markdown_table(headers, [capacity_row(plan) for plan in plans]),
        "",
        f"A vCPU is taken to do the work of one core of the measuring machine ({cpu}); measure "
        "one task on your own instance type before trusting the vCPU count.",
    ]


# The article's claim against the measurement


def claims_lines(results: Json) -> list[str]:
    if not has_scoring(results):
        return [NOT_MEASURED]
    rows, reached = [], []
    for name, entry in measured_flavours(results).items():
        gain = gain_over_as_written(results, name)
        if name == AS_WRITTEN or gain is None:
            continue
        faster = gain - 1
        if faster >= ARTICLE_FASTER:
            reached.append(entry["display_name"])
        verdict = "as fast or faster" if faster >= ARTICLE_FASTER else "short of it"
        rows.append([entry["display_name"], format_ratio(gain), format_percent(faster), verdict])
    headers = ["Flavour", "× as written", "Change in requests/s", f"Against {ARTICLE_CLAIM}"]
    summary = (
        f"As fast as the article's {ARTICLE_CLAIM} or faster: {', '.join(reached)}."
        if reached
        else f"No flavour was as fast as the article's {ARTICLE_CLAIM}."
    )
    return [*markdown_table(headers, rows), "", summary]
