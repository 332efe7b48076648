"""Before a run measures anything: its options (and the --quick preset), which CPUs the load
generator and the server get, where each variant listens, whether this machine can give honest
numbers, and a first estimate of how long it all takes (for the progress bar)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baseline.fib_settings import DEFAULT_FIB_MAX_N
from benchmarks import sampling
from benchmarks.ladder_plan import ladder_rungs, ladder_stacks
from processes import LOOPBACK, free_port
from variants import VARIANTS, get_variant, scoring_variant_names


class BenchmarkError(RuntimeError):
    """The run cannot start (busy cores, a taken port, a missing tool)."""


@dataclass
class Options:
    variants: list[str] = field(default_factory=lambda: [v.name for v in VARIANTS])
    n_values: list[int] = field(default_factory=lambda: [0, 10, 20, 25, 30])
    # One concurrency by default: the case study's measurements need the time a second one took
    # (make bench stays under 20 minutes on 2 cores); --connections 16,64 adds it back.
    connections: list[int] = field(default_factory=lambda: [16])
    repeats: int = 3
    duration_seconds: float = 3.0
    max_point_seconds: float = 20.0
    warmup_n: int = 20
    warmup_max_seconds: dict[str, float] = field(default_factory=lambda: {"cpython": 8, "pypy": 30})
    # Locust is repeated like wrk, each repeat a fresh run, so that its rows have a spread and
    # `compare` a verdict. Three runs of 5 s (of 4 s for the case study) instead of one of 10 s
    # (8 s) add about a minute to the full run, Locust's start-ups included.
    locust_seconds: float = 5.0
    locust_repeats: int = 3
    locust_users: int = 16
    locust_processes: int = 1
    ladder: bool = True  # the framework's ceiling per stack (benchmarks/ladder.py)
    ladder_seconds: int = 2
    ladder_repeats: int = 3
    ladder_other_stacks: bool = True  # PyPy's h11 beside its httptools
    cores: bool = True  # each variant on the whole machine (benchmarks/cores.py)
    cores_n: int = 30
    cores_workers: list[int] = field(default_factory=lambda: [1, 2])
    micro: bool = True
    micro_n: int = 25
    micro_fast: bool = False
    scoring: bool = True  # the case study's scoring service (benchmarks/scoring.py)
    scoring_variants: list[str] = field(default_factory=lambda: scoring_variant_names())
    scoring_connections: int = 16
    scoring_seconds: float = 4.0
    scoring_repeats: int = 3
    scoring_locust_seconds: float = 4.0
    scoring_locust_repeats: int = 3
    # PyPy's JIT needs tens of seconds of this load before the scoring service stops speeding up.
    scoring_warmup_max_seconds: dict[str, float] = field(
        default_factory=lambda: {"cpython": 6, "pypy": 45}
    )
    start_servers: bool = True
    free_ports: bool = False
    ports: dict[str, int] = field(default_factory=dict)  # overrides, e.g. a remapped compose stack
    fib_max_n: int = DEFAULT_FIB_MAX_N
    allow_busy: bool = False
    output_dir: Path | None = None  # None: a new folder under benchmarks/results/scratch/


# make bench-quick: every output (table, plots, each part of a run) from short runs, in a few
# minutes: a smoke test of the whole pipeline, whose numbers are not for comparing.
QUICK: dict[str, Any] = {
    "n_values": [0, 20],
    "repeats": 1,
    "duration_seconds": 1.0,
    "max_point_seconds": 6.0,
    "warmup_max_seconds": {"cpython": 1, "pypy": 1},
    "locust_seconds": 2.0,
    "locust_repeats": 1,
    "ladder_seconds": 1,
    "ladder_repeats": 1,
    "ladder_other_stacks": False,
    "cores_workers": [2],
    "cores_n": 25,
    "micro_fast": True,
    "scoring_seconds": 1.0,
    "scoring_repeats": 1,
    "scoring_locust_seconds": 2.0,
    "scoring_locust_repeats": 1,
    "scoring_warmup_max_seconds": {"cpython": 1, "pypy": 1},
}


def plan_pinning() -> dict:
    """Load generator on the first CPU we may use, the server on the rest (one worker per core)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {
            "pinned": False,
            "load_generator_cpus": cpus,
            "server_cpus": cpus,
            "workers": 1,
            "note": "not pinned: only one CPU, so load generator and server share it",
        }
    load, server = cpus[:1], cpus[1:]
    return {
        "pinned": True,
        "load_generator_cpus": load,
        "server_cpus": server,
        "workers": len(server),
        "note": f"load generator (and harness) on CPU {load[0]}, server on CPU "
        + ",".join(map(str, server)),
    }


def plan_ports(options: Options) -> dict[str, int]:
    """Each variant's port: an override, else a free port (--free-ports) or its default."""
    ports = {}
    for name in options.variants:
        default = free_port() if options.free_ports else get_variant(name).default_port
        ports[name] = options.ports.get(name, default)
    return ports


def check_can_measure(options: Options, pinning: dict, ports: dict[str, int]) -> None:
    """Refuse to measure on a machine that would falsify the numbers."""
    if options.fib_max_n < max([*options.n_values, options.warmup_n, options.cores_n]):
        raise BenchmarkError(f"--fib-max-n {options.fib_max_n} is below the largest n measured")
    if options.start_servers:
        taken = [f"{name} ({port})" for name, port in ports.items() if _port_in_use(port)]
        if taken:
            raise BenchmarkError(
                "ports already in use: " + ", ".join(taken) + ". Stop what serves them (a "
                "leftover server halves the next numbers), or measure it with --no-start."
            )
    if not options.allow_busy:
        refuse_busy_cpus(set(pinning["load_generator_cpus"] + pinning["server_cpus"]))


def refuse_busy_cpus(cpus: set[int], allow: str = "pass --allow-busy") -> None:
    """Other load on the cores would be measured as the variants' slowness: refuse it, naming the
    busiest processes and how to measure anyway (`allow`). Every measuring part calls this."""
    busy = sampling.busy_cpus(cpus)
    if busy:
        shown = ", ".join(f"CPU {cpu} {percent:.0f}%" for cpu, percent in busy.items())
        raise BenchmarkError(
            f"other processes keep the cores busy ({shown}); busiest: "
            + "; ".join(sampling.top_cpu_processes())
            + f". Stop them, or {allow} to measure anyway."
        )


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


# Seconds each kind of step took beyond its load on the 2-core reference machine (start, contract
# check, stop; Locust's start-up), so that the first ETA is close to the run it announces.
START_STOP_SECONDS = 1.5
WRK_OVERHEAD_SECONDS = 0.4
LOCUST_OVERHEAD_SECONDS = 0.7
# A warm-up stops at its plateau (it needs six 1-second points to see one) or at its limit.
TYPICAL_WARMUP_SECONDS = {"cpython": 7.0, "pypy": 12.0}


def expected_warmup_seconds(limit: float, interpreter: str) -> float:
    return min(max(limit, 1.0), TYPICAL_WARMUP_SECONDS[interpreter]) + 0.1


def ladder_start_seconds(interpreter: str, servers: int) -> float:
    return servers * (1.0 if interpreter == "pypy" else 0.4) + 2.0


def locust_seconds(seconds: float, repeats: int) -> float:
    """`repeats` Locust runs of `seconds` each (0 s: none), each with Locust's start-up."""
    return repeats * (seconds + LOCUST_OVERHEAD_SECONDS) if seconds else 0.0


def micro_seconds(options: Options) -> float:
    return 20 if options.micro_fast else 90


def estimate_seconds(options: Options) -> float:
    """A first estimate of the run's length, for the progress bar (refined as points are sized)."""
    points = len(options.n_values) * len(options.connections) * options.repeats
    locust = locust_seconds(options.locust_seconds, options.locust_repeats)
    per_variant = START_STOP_SECONDS + points * (options.duration_seconds + WRK_OVERHEAD_SECONDS)
    warmups = sum(
        expected_warmup_seconds(options.warmup_max_seconds[i], i)
        for i in (get_variant(v).family for v in options.variants)
    )
    micro = micro_seconds(options) if options.micro else 0
    return (
        (per_variant + locust) * len(options.variants)
        + warmups
        + (estimate_ladder_seconds(options) if options.ladder else 0)
        + (estimate_cores_seconds(options) if options.cores else 0)
        + (estimate_scoring_seconds(options) if options.scoring else 0)
        + micro
    )


def estimate_ladder_seconds(options: Options) -> float:
    total = 0.0
    for stack in ladder_stacks(options.variants, options.ladder_other_stacks):
        rungs = len(ladder_rungs(stack, options.variants))
        limit = options.warmup_max_seconds[stack.interpreter]
        warmup = expected_warmup_seconds(limit, stack.interpreter)
        start = ladder_start_seconds(stack.interpreter, rungs)
        measured = options.ladder_repeats * (options.ladder_seconds + WRK_OVERHEAD_SECONDS)
        total += start + rungs * (warmup + measured)
    return total


def estimate_cores_seconds(options: Options) -> float:
    runs = [get_variant(name).family for name in options.variants] * len(options.cores_workers)
    # each repeat ends by draining the requests still queued at cores_n
    measured = options.repeats * (options.duration_seconds + WRK_OVERHEAD_SECONDS + 2)
    return sum(
        START_STOP_SECONDS + expected_warmup_seconds(options.warmup_max_seconds[i], i) + measured
        for i in runs
    )


def estimate_scoring_seconds(options: Options) -> float:
    total = 0.0
    for name in options.scoring_variants:
        interpreter = get_variant(name).interpreter
        warmup = expected_warmup_seconds(
            options.scoring_warmup_max_seconds[interpreter], interpreter
        )
        measured = options.scoring_repeats * (options.scoring_seconds + WRK_OVERHEAD_SECONDS)
        locust = locust_seconds(options.scoring_locust_seconds, options.scoring_locust_repeats)
        total += START_STOP_SECONDS + warmup + measured + locust
    return total
