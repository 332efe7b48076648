"""Sustained load: one variant served as it would be deployed (a worker per core), under minutes
of high concurrency, while `/health` is asked every half second and each worker's memory is
sampled every second.

The load is wrk on every CPU with the server (a 2-core machine has no other), its requests mixed
as the variant's workload allows: the fib apps get two cheap requests (GET /fib/5) for every
expensive one (GET /fib/25, wrk_mixed.lua); the scoring service gets the case study's rotating
realistic bodies (wrk_scoring.lua). What is recorded: requests served, answers other than 2xx
and socket errors (expected 0: the load asks nothing the contract refuses), `/health`'s latency
percentiles and its slowest answer, and memory per worker over time, with a verdict on its growth
over the last half of the run (flat, or still growing: a leak to fix, not to report).
"""

from __future__ import annotations

import http.client
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.results import Json
from benchmarks.servers import RunningServer, running_server
from benchmarks.wrk import REPORT_SCRIPT, WrkPlan, run_wrk
from processes import LOOPBACK
from variants import Variant

MIXED_SCRIPT = REPORT_SCRIPT.with_name("wrk_mixed.lua")
FIB_MIX = ("/fib/5", "/fib/5", "/fib/25")  # two cheap requests for every expensive one
HEALTH_INTERVAL_SECONDS = 0.5
HEALTH_TIMEOUT_SECONDS = 5.0
HEALTH_LIMIT_SECONDS = 1.0  # the contract's promise for /health, under any load
MEMORY_INTERVAL_SECONDS = 1.0
# Memory per worker over the last half of the run may grow by at most this share before the run
# calls it still growing (PyPy's heap levels off under PYPY_GC_SETTINGS; CPython's stays flat).
GROWTH_TOLERANCE = 0.10


@dataclass(frozen=True)
class SoakOptions:
    seconds: int = 120
    connections: int = 512
    workers: int = 2


@dataclass
class HealthProbe:
    """`/health` asked every HEALTH_INTERVAL_SECONDS on a fresh connection: each latency, or the
    error that replaced it; and when each answer over the limit, or failure, came (seconds since
    the load started: a burst of new connections at the start shows there)."""

    latencies: list[float]
    failures: list[str]
    started: float = field(default_factory=time.monotonic)
    over_limit: list[dict] = field(default_factory=list)


@contextmanager
def every(interval: float, action: Callable[[], None]) -> Iterator[None]:
    """`action` every `interval` seconds on a thread of its own while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def ask_health(port: int, probe: HealthProbe) -> None:
    """One GET /health on a fresh connection: its latency, or what replaced it, into `probe`."""
    started = time.monotonic()
    at = round(started - probe.started, 1)
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=HEALTH_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/health")
        status = connection.getresponse().status
        latency = time.monotonic() - started
        if status == 200:
            probe.latencies.append(latency)
            if latency >= HEALTH_LIMIT_SECONDS:
                probe.over_limit.append({"at_seconds": at, "seconds": round(latency, 3)})
        else:
            probe.failures.append(f"status {status}")
            probe.over_limit.append({"at_seconds": at, "failure": f"status {status}"})
    except OSError as error:
        probe.failures.append(f"{type(error).__name__}: {error}")
        probe.over_limit.append({"at_seconds": at, "failure": f"{type(error).__name__}: {error}"})
    finally:
        connection.close()


@contextmanager
def probing_health(port: int) -> Iterator[HealthProbe]:
    probe = HealthProbe([], [])
    with every(HEALTH_INTERVAL_SECONDS, lambda: ask_health(port, probe)):
        yield probe


def mean_uss_mib(server: RunningServer) -> float | None:
    uss = []
    for worker in server.workers():
        try:
            uss.append(worker.memory_full_info().uss / 2**20)
        except psutil.Error:
            continue  # a worker that just exited: the next sample sees its replacement
    return statistics.fmean(uss) if uss else None


@contextmanager
def sampling_memory(server: RunningServer) -> Iterator[list[list[float]]]:
    """[seconds since the start, mean USS MiB per worker] every MEMORY_INTERVAL_SECONDS."""
    timeline: list[list[float]] = []
    started = time.monotonic()

    def sample() -> None:
        uss = mean_uss_mib(server)
        if uss is not None:
            timeline.append([round(time.monotonic() - started, 1), uss])

    with every(MEMORY_INTERVAL_SECONDS, sample):
        yield timeline


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def health_summary(probe: HealthProbe) -> Json:
    milliseconds = [latency * 1000 for latency in probe.latencies]
    return {
        "asked": len(probe.latencies) + len(probe.failures),
        "failures": len(probe.failures),
        "failure_examples": probe.failures[:3],
        "p50_ms": percentile(milliseconds, 0.5),
        "p99_ms": percentile(milliseconds, 0.99),
        "max_ms": max(milliseconds) if milliseconds else None,
        "within_limit": not probe.failures
        and bool(milliseconds)
        and max(milliseconds) < HEALTH_LIMIT_SECONDS * 1000,
        "over_limit": probe.over_limit[:10],
    }


def memory_growth(timeline: list[list[float]]) -> Json:
    """The last half of the run: its first and last quarter's mean USS per worker, the growth
    between them, and whether it stayed within GROWTH_TOLERANCE."""
    half = timeline[len(timeline) // 2 :]
    if len(half) < 4:
        return {"start_mib": None, "end_mib": None, "growth": None, "flat": None}
    quarter = max(1, len(half) // 4)
    start = statistics.fmean(point[1] for point in half[:quarter])
    end = statistics.fmean(point[1] for point in half[-quarter:])
    growth = end / start - 1
    return {
        "start_mib": start,
        "end_mib": end,
        "growth": growth,
        "flat": growth <= GROWTH_TOLERANCE,
    }


def load_plan(variant: Variant, base_url: str, options: SoakOptions, bodies: Path) -> WrkPlan:
    """The mixed load for the variant's workload, with a timeout long enough for a queue of
    `connections` requests behind the expensive ones."""
    if variant.workload == "scoring":
        from benchmarks.scoring import SCORING_PATH, WRK_SCRIPT

        return WrkPlan(
            base_url + SCORING_PATH,
            options.connections,
            options.seconds,
            30,
            threads=2,
            script=WRK_SCRIPT,
            script_args=(str(bodies),),
        )
    return WrkPlan(
        base_url, options.connections, options.seconds, 30, threads=2,
        script=MIXED_SCRIPT, script_args=FIB_MIX,
    )  # fmt: skip


def scoring_bodies(folder: Path) -> Path:
    from benchmarks.scoring import write_bodies

    return write_bodies(folder / "bodies.jsonl")


def measure_sustained(
    variant: Variant,
    options: SoakOptions,
    say: Callable[[str], None],
    settings: dict[str, str] | None = None,
) -> Json:
    """One variant under options.seconds of mixed load at options.connections: what wrk counted,
    `/health` throughout, memory per worker over time. `settings` are serve.py's (LOOP=uvloop)."""
    entry: Json = {"variant": variant.name, "seconds": options.seconds}
    entry.update(connections=options.connections, workers=options.workers)
    entry["settings"] = dict(settings or {})
    shown = " ".join([variant.name, *(f"{k}={v}" for k, v in entry["settings"].items())])
    say(f"soak: {shown}: {options.seconds} s at {options.connections} connections")
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        bodies = scoring_bodies(Path(folder)) if variant.workload == "scoring" else Path(folder)
        with running_server(variant, workers=options.workers, env=settings) as server:
            plan = load_plan(variant, server.base_url, options, bodies)
            with probing_health(server.port) as probe, sampling_memory(server) as timeline:
                outcome = run_wrk(plan)
    entry["wrk"] = {
        "requests": outcome["requests"],
        "requests_per_second": outcome["requests_per_second"],
        "errors": outcome["errors"],
        "latency_ms": outcome["latency_ms"],
    }
    entry["health"] = health_summary(probe)
    entry["memory_timeline"] = timeline
    entry["memory"] = memory_growth(timeline)
    return entry
