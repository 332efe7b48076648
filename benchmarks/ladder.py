"""The ladder: where a cheap request's time goes, per interpreter and HTTP stack.

For each stack (an interpreter with an event loop and an HTTP parser), one server per rung runs on
the server's pinned core, all at once, and wrk measures GET /fib/0 on each, the rungs interleaved
repeat by repeat, so their ratios come from the same minutes:

    bare ASGI app -> Starlette route -> FastAPI route (our response model) -> each variant at n=0
    -> the first variant with every computation handed to a worker thread (FIB_INLINE_SECONDS=0)

Each step adds one layer (server, framework, validation, our contract, the thread hand-off), so a
rung's requests/s against the one before it is that layer's cost. Stacks: each interpreter's own
(the variants table's) and, for PyPy, h11 beside its chosen httptools: the choice is measured
here, in every full run.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from benchmarks.ladder_plan import (
    LADDER_CONNECTIONS,
    LADDER_PATH,
    WRK_TIMEOUT_SECONDS,
    Rung,
    Stack,
    ladder_rungs,
    ladder_stacks,
)
from benchmarks.planning import WRK_OVERHEAD_SECONDS, expected_warmup_seconds, ladder_start_seconds
from benchmarks.records import ladder_section, ladder_stack_entry, recorded_outcome, rung_entry
from benchmarks.results import Json, summarize_repeats
from benchmarks.servers import start_server, stop_server, wait_until_healthy
from benchmarks.target import HEALTH_TIMEOUT_SECONDS, Target, fib_limit
from benchmarks.warmup import warm_up, warmup_plan
from benchmarks.wrk import WrkPlan, run_wrk
from contract_check import check_fib

if TYPE_CHECKING:
    from benchmarks.stage import Run


def measure_ladder(run: Run) -> None:
    """Every stack's ladder into run.results["ladder"], saved after each stack."""
    options = run.options
    run.results["ladder"] = ladder = ladder_section(
        LADDER_PATH, LADDER_CONNECTIONS, options.ladder_seconds, options.ladder_repeats
    )
    for stack in ladder_stacks(options.variants, options.ladder_other_stacks):
        entry = ladder_stack_entry(stack.interpreter, stack.loop, stack.http, stack.chosen)
        ladder["stacks"].append(entry)
        with recorded_outcome(entry, stack.name, run.save, run.progress.say, part="ladder"):
            measure_stack(run, stack, entry)


def measure_stack(run: Run, stack: Stack, entry: Json) -> None:
    """Start every rung's server, check and warm each, then the interleaved repeats."""
    rungs = ladder_rungs(stack, run.options.variants)
    with ExitStack() as cleanup:
        run.progress.step(
            f"ladder {stack.name}: starting {len(rungs)} servers",
            ladder_start_seconds(stack.interpreter, len(rungs)),
        )
        targets = [start_rung(run, rung, cleanup) for rung in rungs]
        for rung, target in zip(rungs, targets):
            check_rung(rung, target)
        entry["rungs"] = records = [rung_entry_of(rung) for rung in rungs]
        for rung, target, record in zip(rungs, targets, records):
            record["warmup"] = warm_up_rung(run, stack, rung, target)
        run.save()
        measure_interleaved(run, stack, rungs, targets, records)
        for record in records:
            record["summary"] = summarize_repeats(record["repeats"], None)


def start_rung(run: Run, rung: Rung, cleanup: ExitStack) -> Target:
    """The rung's server, started on the server's cores (not yet healthy: the rungs start
    together) and stopped when `cleanup` closes."""
    server = start_server(
        rung.server,
        workers=run.pinning["workers"],
        env=fib_limit(run.options.fib_max_n),
        cpus=run.server_cpus_if_pinned(),
        direct=True,
    )
    cleanup.callback(stop_server, server)
    return Target(rung.server, server.base_url, server)


def check_rung(rung: Rung, target: Target) -> None:
    """Healthy, and right at GET /fib/0: a rung that answers wrongly is not measured."""
    wait_until_healthy(target.server, timeout=HEALTH_TIMEOUT_SECONDS)
    problem = check_fib(target.base_url, 0)
    if problem:
        raise RuntimeError(f"{rung.label} answers GET {LADDER_PATH} wrongly: {problem}")


def rung_entry_of(rung: Rung) -> Json:
    return rung_entry(
        rung.key, rung.label, rung.variant, rung.server.app, dict(rung.server.environment)
    )


def warm_up_rung(run: Run, stack: Stack, rung: Rung, target: Target) -> Json:
    """The rung's warm-up at GET /fib/0, up to the interpreter's warm-up limit (the variants')."""
    limit = run.options.warmup_max_seconds[stack.interpreter]
    run.progress.step(
        f"ladder {stack.name}: warming up {rung.key}",
        expected_warmup_seconds(limit, stack.interpreter),
    )
    url = target.base_url + LADDER_PATH
    return warm_up(warmup_plan(url, LADDER_CONNECTIONS), 0, limit, run.load_cpus)


def measure_interleaved(
    run: Run, stack: Stack, rungs: list[Rung], targets: list[Target], records: list[Json]
) -> None:
    """options.ladder_repeats rounds, each measuring every rung once, so slow drift in the machine
    touches every rung alike."""
    options = run.options
    for index in range(options.ladder_repeats):
        for rung, target, record in zip(rungs, targets, records):
            run.progress.step(
                f"ladder {stack.name}: {rung.key} ({index + 1}/{options.ladder_repeats})",
                options.ladder_seconds + WRK_OVERHEAD_SECONDS,
            )
            url = target.base_url + LADDER_PATH
            plan = WrkPlan(url, LADDER_CONNECTIONS, options.ladder_seconds, WRK_TIMEOUT_SECONDS)
            record["repeats"].append(
                run.sampled_run(target, lambda plan=plan: run_wrk(plan, run.load_cpus))
            )
