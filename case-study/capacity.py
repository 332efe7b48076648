"""Step 5 of the migration, deploy: what each measured flavour of the scoring service needs to
serve a stated load, and what that costs, computed from a results file's "scoring" section (its
shape: benchmarks/results.py) and the prices in cloud_prices.py. Pure functions over plain JSON, so
nothing here starts a server or depends on the harness; benchmarks/case_study_doc.py prints them.

For one flavour, from its wrk run on one worker:

    requests per CPU-second = requests/s / server CPU cores used
    vCPUs (= workers)       = ceil(TARGET_RPS / (requests per CPU-second × UTILISATION_CEILING))
    tasks                   = the vCPUs in tasks of WORKERS_PER_TASK (the last one may be smaller)
    memory per task (MiB)   = its workers × peak PSS per worker + the supervisor's allowance
    billed memory per task  = the needed MiB in whole GB, at least Fargate's minimum for its vCPUs
    cost per hour           = vCPUs × price per vCPU-hour + billed GB × price per GB-hour
    cost per million        = cost per hour / (TARGET_RPS × 3600) × 1e6

A flavour whose p99 latency, measured on one worker under full load, is already above
P99_TARGET_MS does not meet the target: nothing here predicts what its latency would be at a lower
load, so it is reported as measured, not extrapolated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cloud_prices import FARGATE_US_EAST_1, ComputePrice
from variants import SUPERVISOR_ALLOWANCE_MIB

Json = dict[str, Any]

# The load to plan for: a card-payment scorer that must answer well inside a checkout's own
# timeout. 50 ms at the 99th percentile leaves the rest of a payment's latency budget to the rest.
TARGET_RPS = 2_000
P99_TARGET_MS = 50.0

# Plan for 70% of what a CPU can do, not 100%: the throughput was measured at saturation, where
# queues (and so latency) grow without bound; the other 30% absorbs bursts, a task lost or replaced
# in a rolling deploy, and PyPy's garbage collector.
UTILISATION_CEILING = 0.7

# Two workers per task, as the repository's compose stack runs them (pypy-deployment/
# docker-compose.yml: WORKERS=2, cpus=WORKERS): a crashed worker leaves its twin serving, and the
# supervisor's memory is shared by two. One worker per vCPU: a worker's event loop uses one core.
WORKERS_PER_TASK = 2

# What a task holds besides its workers: SUPERVISOR_ALLOWANCE_MIB (variants.py), the allowance the
# compose file's memory limits are sized with too.

MIB_PER_GB = 1024
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class MeasuredFlavour:
    """What one flavour's results say, of what capacity planning needs."""

    name: str
    display_name: str
    interpreter: str  # "cpython" or "pypy"
    requests_per_second: float  # median over the repeats, one worker
    server_cpu_cores: float  # the server's CPU time over wall time during those runs
    p99_ms: float  # median of the repeats' p99, at that load
    peak_pss_mib_per_worker: float


@dataclass(frozen=True)
class CapacityPlan:
    flavour: MeasuredFlavour
    target_rps: float
    requests_per_cpu_second: float
    vcpus: int  # one worker each
    task_vcpus: tuple[int, ...]  # the vCPUs (and workers) of each task
    memory_mib: float  # what the tasks' processes need, all tasks together
    billed_gb: int  # the memory Fargate bills, all tasks together
    usd_per_hour: float
    usd_per_million_requests: float
    meets_p99_target: bool


def measured_flavour(name: str, entry: Json) -> MeasuredFlavour | None:
    """The figures of one entry of the scoring section; None unless it was measured with all of
    them (requests/s, server CPU, p99 and memory)."""
    load = entry.get("wrk") or {}
    summary = load.get("summary")
    memory = entry.get("memory") or {}
    if entry.get("status") != "measured" or not summary:
        return None
    rps = summary["requests_per_second"]["median"]
    cores = summary.get("server_cpu_cores")
    p99 = summary["latency_ms"].get("p99")
    pss = memory.get("peak_pss_mib_per_worker")
    if not rps or not cores or p99 is None or pss is None:
        return None
    return MeasuredFlavour(name, entry["display_name"], entry["interpreter"], rps, cores, p99, pss)


def measured_flavours(results: Json) -> list[MeasuredFlavour]:
    """Every flavour of the results' scoring section that capacity can be planned for, in the
    order measured (empty without the section)."""
    entries = ((results.get("scoring") or {}).get("variants")) or {}
    found = [measured_flavour(name, entry) for name, entry in entries.items()]
    return [flavour for flavour in found if flavour is not None]


def requests_per_cpu_second(requests_per_second: float, server_cpu_cores: float) -> float:
    return requests_per_second / server_cpu_cores


def vcpus_needed(target_rps: float, per_cpu_second: float, ceiling: float) -> int:
    """Whole vCPUs for `target_rps` with each busy at most `ceiling` of the time (at least one).
    Rounded to 9 decimals before the ceiling, so 3.0000000000000004 is 3, not 4."""
    return max(1, math.ceil(round(target_rps / (per_cpu_second * ceiling), 9)))


def task_sizes(vcpus: int, workers_per_task: int = WORKERS_PER_TASK) -> tuple[int, ...]:
    """The vCPUs of each task: full tasks, then one with the rest (7 → 2, 2, 2, 1)."""
    full, rest = divmod(vcpus, workers_per_task)
    return (workers_per_task,) * full + ((rest,) if rest else ())


def task_memory_mib(workers: int, peak_pss_mib_per_worker: float, allowance_mib: float) -> float:
    return workers * peak_pss_mib_per_worker + allowance_mib


def billed_gb(memory_mib: float, vcpus: int, price: ComputePrice = FARGATE_US_EAST_1) -> int:
    """The memory a task of `vcpus` is billed for: the need in whole GB, and at least the
    provider's minimum for that many vCPUs."""
    return max(math.ceil(memory_mib / MIB_PER_GB), price.min_gb_per_vcpu * vcpus)


def usd_per_hour(vcpus: int, gb: float, price: ComputePrice = FARGATE_US_EAST_1) -> float:
    return vcpus * price.usd_per_vcpu_hour + gb * price.usd_per_gb_hour


def usd_per_million_requests(usd_hourly: float, requests_per_second: float) -> float:
    return usd_hourly / (requests_per_second * SECONDS_PER_HOUR) * 1e6


def meets_p99_target(p99_ms: float, target_ms: float = P99_TARGET_MS) -> bool:
    return p99_ms <= target_ms


def plan_capacity(
    flavour: MeasuredFlavour,
    target_rps: float = TARGET_RPS,
    p99_target_ms: float = P99_TARGET_MS,
    price: ComputePrice = FARGATE_US_EAST_1,
) -> CapacityPlan:
    """The vCPUs, tasks, memory and cost that serve `target_rps` with `flavour`."""
    per_cpu = requests_per_cpu_second(flavour.requests_per_second, flavour.server_cpu_cores)
    vcpus = vcpus_needed(target_rps, per_cpu, UTILISATION_CEILING)
    sizes = task_sizes(vcpus)
    allowance = SUPERVISOR_ALLOWANCE_MIB[flavour.interpreter]
    memory = [task_memory_mib(size, flavour.peak_pss_mib_per_worker, allowance) for size in sizes]
    gb = sum(billed_gb(need, size, price) for need, size in zip(memory, sizes))
    hourly = usd_per_hour(vcpus, gb, price)
    return CapacityPlan(
        flavour=flavour,
        target_rps=target_rps,
        requests_per_cpu_second=per_cpu,
        vcpus=vcpus,
        task_vcpus=sizes,
        memory_mib=sum(memory),
        billed_gb=gb,
        usd_per_hour=hourly,
        usd_per_million_requests=usd_per_million_requests(hourly, target_rps),
        meets_p99_target=meets_p99_target(flavour.p99_ms, p99_target_ms),
    )


def plan_all(
    results: Json, target_rps: float = TARGET_RPS, p99_target_ms: float = P99_TARGET_MS
) -> list[CapacityPlan]:
    return [
        plan_capacity(flavour, target_rps, p99_target_ms) for flavour in measured_flavours(results)
    ]
