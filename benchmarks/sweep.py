"""One variant measured, once its server answers: the contract verified, a warm-up, the
n × connections sweep with wrk (each point sized from the compute time the server reports), then
the Locust scenario. Every record is added to the run, which saves the file, as soon as it is
measured."""

from __future__ import annotations

import statistics
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.locust_run import LOCUSTFILE, run_locust
from benchmarks.planning import (
    LOCUST_OVERHEAD_SECONDS,
    WRK_OVERHEAD_SECONDS,
    expected_warmup_seconds,
)
from benchmarks.records import locust_record, wrk_record
from benchmarks.results import Json
from benchmarks.target import Target
from benchmarks.warmup import warm_up, warmup_plan
from benchmarks.wrk import WrkPlan, run_wrk, size_point
from contract_check import failure_summary, fetch, verify

if TYPE_CHECKING:
    from benchmarks.stage import Run

PROBES_PER_POINT = 3  # sequential requests that read the server-reported compute time
FRAMEWORK_SECONDS = 0.0003  # a rough per-request cost of FastAPI itself, for sizing only
WARMUP_CONNECTIONS = 16


def measure_target(run: Run, target: Target, entry: Json) -> None:
    """Everything the run measures of one variant, into its entry and the run's records."""
    verify_contract(run, target, entry)
    entry["warmup"] = warm_up_variant(run, target)
    run.save()
    for n in run.options.n_values:
        compute_ms = probe_compute_times(target, n)
        for connections in run.options.connections:
            measure_point(run, target, n, connections, compute_ms)
    measure_locust(run, target)


def verify_contract(run: Run, target: Target, entry: Json) -> None:
    """Check the answers before timing them (a wrong server is not measured), and record the
    runtime the server reports."""
    run.progress.step(f"{target.variant.name}: verifying the contract", 0)
    entry["verification"] = verification = verify(target.base_url, run.options.fib_max_n)
    run.save()
    if not verification["passed"]:
        raise RuntimeError(failure_summary(verification))
    health = fetch(target.base_url, "/health").body
    entry["runtime"], entry["implementation"] = health["runtime"], health["implementation"]


def warm_up_variant(run: Run, target: Target) -> Json:
    """A primer (one request at every n of the sweep), then the warm-up at options.warmup_n; the
    curve's clock starts with the primer (benchmarks/warmup.py)."""
    options = run.options
    limit = options.warmup_max_seconds[target.variant.family]
    run.progress.step(
        f"{target.variant.name}: warming up (up to {limit:.0f} s)",
        expected_warmup_seconds(limit, target.variant.family),
    )
    started = time.monotonic()
    for n in sorted(set(options.n_values)):
        fetch(target.base_url, f"/fib/{n}")
    url = f"{target.base_url}/fib/{options.warmup_n}"
    plan = warmup_plan(url, WARMUP_CONNECTIONS)
    return warm_up(plan, options.warmup_n, limit, run.load_cpus, started)


def probe_compute_times(target: Target, n: int) -> list[float]:
    """The compute time (ms) the server reports for GET /fib/`n`, a few requests in a row."""
    times = []
    for _ in range(PROBES_PER_POINT):
        body = fetch(target.base_url, f"/fib/{n}").body
        times.append(body["compute_time_seconds"] * 1000)
    return times


def measure_point(
    run: Run, target: Target, n: int, connections: int, compute_ms: list[float]
) -> None:
    """options.repeats fresh wrk runs at GET /fib/`n`, each as long as the point needs."""
    options = run.options
    capacity = len(run.server_cpus) / (statistics.median(compute_ms) / 1000 + FRAMEWORK_SECONDS)
    plan = plan_point(run, f"{target.base_url}/fib/{n}", connections, capacity)
    label = f"{target.variant.name}: wrk n={n} c={connections}"
    repeats: list[Json] = []
    planned = options.duration_seconds + WRK_OVERHEAD_SECONDS  # what estimate_seconds assumed
    run_repeats(run, target, plan, label, run.load_cpus, repeats, planned)
    name = target.variant.name
    run.add_record(wrk_record(name, n, connections, plan.duration_seconds, repeats, compute_ms))


def plan_point(run: Run, url: str, connections: int, expected_rps: float) -> WrkPlan:
    """A wrk run long enough for the point's expected rate (benchmarks/wrk.py: size_point)."""
    return size_point(
        url,
        connections,
        expected_rps=expected_rps,
        base_seconds=run.options.duration_seconds,
        max_seconds=run.options.max_point_seconds,
    )


def run_repeats(
    run: Run,
    target: Target,
    plan: WrkPlan,
    label: str,
    load_cpus: set[int],
    into: list[Json],
    planned: float | None = None,
    count: int | None = None,
) -> None:
    """`count` (default options.repeats) fresh wrk runs of `plan` from `load_cpus`, each sampled
    and added to `into` as it ends (`planned`: the seconds the first estimate gave each run, if it
    differs)."""
    repeats = count or run.options.repeats
    for index in range(repeats):
        run.progress.step(
            f"{label} ({index + 1}/{repeats}, {plan.duration_seconds:.0f} s)",
            plan.duration_seconds + WRK_OVERHEAD_SECONDS,
            planned=planned,
        )
        load = partial(run_wrk, plan, load_cpus)
        into.append(run.sampled_run(target, load, load_cpus=len(load_cpus)))


def measure_locust(run: Run, target: Target) -> None:
    """options.locust_repeats fresh runs of the mixed scenario, options.locust_seconds each (0
    skips it), into one record summarized like a wrk point."""
    options = run.options
    if options.locust_seconds <= 0:
        return
    label = f"{target.variant.name}: locust mixed scenario"
    seconds = options.locust_seconds
    repeats = run_locust_repeats(run, target, label, seconds, options.locust_repeats)
    run.add_record(locust_record(target.variant.name, options.locust_users, seconds, repeats))


def run_locust_repeats(
    run: Run,
    target: Target,
    label: str,
    seconds: float,
    count: int,
    locustfile: Path = LOCUSTFILE,
) -> list[Json]:
    """`count` fresh Locust runs of `locustfile`'s scenario against `target`, `seconds` each, from
    the load generator's CPUs; each sampled like a wrk run."""
    options = run.options
    repeats: list[Json] = []
    for index in range(count):
        run.progress.step(
            f"{label} ({index + 1}/{count}, {seconds:.0f} s)", seconds + LOCUST_OVERHEAD_SECONDS
        )
        load = partial(
            run_locust,
            target.base_url,
            options.locust_users,
            seconds,
            run.load_cpus,
            options.locust_processes,
            locustfile=locustfile,
        )
        repeats.append(run.sampled_run(target, load))
    return repeats
