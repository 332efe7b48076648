"""Workers and cores: what a deployment on this whole machine would get, apart from the pinned
per-core comparison.

The server may use every CPU the harness may (1 or 2 workers), and so may wrk: a machine with two
cores has nowhere else to put the load generator, which the results say. The point is expensive
(n=30 by default), so wrk's own share of the CPU is small, and every request comes on a new
connection, so two workers share the load as they would with many clients (see measure_one).
The question it answers: how much of the
second core does one process use? A worker of code that holds the GIL computes on one core at a
time, however many threads it has; the Cython variants release the GIL around the computation, so
one worker computes on every core (`compute_slots` in baseline_app.create_app).
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import TYPE_CHECKING

from benchmarks.results import summarize_repeats
from benchmarks.servers import start_server, stop_server, wait_until_healthy
from benchmarks.wrk import run_wrk, size_point
from variants import get_variant

if TYPE_CHECKING:
    from benchmarks.runner import Run

CORES_CONNECTIONS = 16


def measure_cores(run: Run) -> None:
    """Each variant with 1 and 2 workers (options.cores_workers) on all CPUs, at options.cores_n."""
    options = run.options
    cpus = sorted(run.load_cpus | run.server_cpus)
    run.results["cores"] = section = {
        "n": options.cores_n,
        "connections": CORES_CONNECTIONS,
        "cpus": cpus,
        "note": f"server and wrk both on CPU {','.join(map(str, cpus))}: this machine has no "
        "other cores for the load generator; every request on a new connection (Connection: "
        "close), so whichever worker is free accepts it",
        "runs": [],
    }
    for name in options.variants:
        for workers in options.cores_workers:
            entry = {
                "variant": name,
                "workers": workers,
                "status": "pending",
                "error": None,
                "warmup": None,
                "duration_seconds": None,
                "repeats": [],
                "summary": None,
            }
            section["runs"].append(entry)
            try:
                measure_one(run, name, workers, set(cpus), entry)
                entry["status"] = "measured"
            except KeyboardInterrupt:
                entry["status"], entry["error"] = "interrupted", "interrupted before it finished"
                run.save()
                raise
            except Exception as error:  # the other runs still count
                entry["status"], entry["error"] = "failed", f"{name} x{workers}: {error}"
                run.progress.say(f"[red]cores {name} x{workers} failed:[/red] {error}")
            run.save()


def measure_one(run: Run, name: str, workers: int, cpus: set[int], entry: dict) -> None:
    from benchmarks.runner import Target

    options = run.options
    variant = get_variant(name)
    label = f"cores: {name}, {workers} worker{'s' if workers > 1 else ''} on {len(cpus)} CPUs"
    run.progress.step(f"{label}: starting", 3)
    server = start_server(
        variant, workers=workers, env={"FIB_MAX_N": str(options.fib_max_n)}, cpus=cpus
    )
    try:
        wait_until_healthy(server, timeout=90)
        target = Target(variant, server.base_url, server)
        entry["warmup"] = run.warm_up(target)
        compute_ms = run.probe_compute_times(target, options.cores_n)
        capacity = len(cpus) / (statistics.median(compute_ms) / 1000)
        plan = size_point(
            f"{server.base_url}/fib/{options.cores_n}",
            CORES_CONNECTIONS,
            expected_rps=capacity,
            base_seconds=options.duration_seconds,
            max_seconds=options.max_point_seconds,
        )
        # A worker accepts all the connections that arrive while it is waiting (asyncio accepts
        # up to 100 at a time), so wrk's 16 keep-alive connections, opened at once, sometimes all
        # land on one of two workers and the other idles: a new connection per request spreads
        # them the way many clients would.
        plan = replace(plan, new_connection_per_request=True)
        entry["duration_seconds"] = plan.duration_seconds
        for index in range(options.repeats):
            run.progress.step(
                f"{label} ({index + 1}/{options.repeats}, {plan.duration_seconds} s)",
                plan.duration_seconds + 0.5,
            )
            entry["repeats"].append(
                run.sampled_run(target, lambda: run_wrk(plan, cpus), load_cpus=len(cpus))
            )
        entry["summary"] = summarize_repeats(entry["repeats"], compute_ms)
    finally:
        stop_server(server)
