"""Workers and cores: what a deployment on this whole machine would get, apart from the pinned
per-core comparison.

The server may use every CPU the harness may (1 or 2 workers), and so may wrk: a machine with two
cores has nowhere else to put the load generator, which the results say. The point is expensive
(n=30 by default), so wrk's own share of the CPU is small, and every request comes on a new
connection, so two workers share the load as they would with many clients (see
whole_machine_plan). The question it answers: how much of the second core does one process use?
A worker of code that holds the GIL computes on one core at a time, however many threads it has;
the Cython variants release the GIL around the computation, so one worker computes on every core
(`compute_slots` in baseline_app.create_app).
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import TYPE_CHECKING

from benchmarks.planning import START_STOP_SECONDS
from benchmarks.records import cores_run_entry, cores_section, recorded_outcome
from benchmarks.results import Json, summarize_repeats
from benchmarks.sweep import plan_point, probe_compute_times, run_repeats, warm_up_variant
from benchmarks.target import Target, served_target
from benchmarks.wrk import WrkPlan
from variants import get_variant

if TYPE_CHECKING:
    from benchmarks.stage import Run

CORES_CONNECTIONS = 16


def measure_cores(run: Run) -> None:
    """Each variant with 1 and 2 workers (options.cores_workers) on all CPUs, at options.cores_n."""
    options = run.options
    cpus = sorted(run.load_cpus | run.server_cpus)
    note = (
        f"server and wrk both on CPU {','.join(map(str, cpus))}: this machine has no "
        "other cores for the load generator; every request on a new connection (Connection: "
        "close), so whichever worker is free accepts it"
    )
    run.results["cores"] = section = cores_section(options.cores_n, CORES_CONNECTIONS, cpus, note)
    for name in options.variants:
        for workers in options.cores_workers:
            entry = cores_run_entry(name, workers)
            section["runs"].append(entry)
            subject = f"{name} x{workers}"
            with recorded_outcome(entry, subject, run.save, run.progress.say, part="cores"):
                measure_one(run, name, workers, set(cpus), entry)


def measure_one(run: Run, name: str, workers: int, cpus: set[int], entry: Json) -> None:
    """One variant with `workers` workers on `cpus`: warmed up, then options.repeats wrk runs."""
    options = run.options
    variant = get_variant(name)
    label = f"cores: {name}, {workers} worker{'s' if workers > 1 else ''} on {len(cpus)} CPUs"
    run.progress.step(f"{label}: starting", START_STOP_SECONDS)
    with served_target(variant, workers=workers, fib_max_n=options.fib_max_n, cpus=cpus) as target:
        entry["warmup"] = warm_up_variant(run, target)
        compute_ms = probe_compute_times(target, options.cores_n)
        plan = whole_machine_plan(run, target, cpus, compute_ms)
        entry["duration_seconds"] = plan.duration_seconds
        run_repeats(run, target, plan, label, cpus, into=entry["repeats"])
        entry["summary"] = summarize_repeats(entry["repeats"], compute_ms)


def whole_machine_plan(
    run: Run, target: Target, cpus: set[int], compute_ms: list[float]
) -> WrkPlan:
    """GET /fib/cores_n sized for every CPU computing, a new connection per request."""
    capacity = len(cpus) / (statistics.median(compute_ms) / 1000)
    plan = plan_point(
        run, f"{target.base_url}/fib/{run.options.cores_n}", CORES_CONNECTIONS, capacity
    )
    # A worker accepts all the connections that arrive while it is waiting (asyncio accepts
    # up to 100 at a time), so wrk's 16 keep-alive connections, opened at once, sometimes all
    # land on one of two workers and the other idles: a new connection per request spreads
    # them the way many clients would.
    return replace(plan, new_connection_per_request=True)
