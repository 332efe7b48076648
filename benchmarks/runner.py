"""One benchmark run: for each variant, start it, verify it, warm it up, sweep n × connections with
wrk, run the Locust scenario, sample CPU and memory throughout, stop it; then the micro-benchmark.
The results file is rewritten after every measurement, so an interrupted run or a variant that
dies keeps everything already measured."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fib_settings import DEFAULT_FIB_MAX_N

from benchmarks import sampling
from benchmarks.environment import collect_environment
from benchmarks.locust_run import locust_version, run_locust
from benchmarks.progress import RunProgress
from benchmarks.reference import run_folder
from benchmarks.results import new_results, save_results, summarize_repeats, variant_memory
from benchmarks.servers import (
    LOOPBACK,
    RunningServer,
    free_port,
    start_server,
    stop_server,
    wait_for_health,
    wait_until_healthy,
)
from benchmarks.verify import failure_summary, fetch, verify
from benchmarks.warmup import plateau_reached, warmup_record
from benchmarks.wrk import WrkPlan, run_wrk, size_point, wrk_version
from variants import VARIANTS, Variant, get_variant

PROBES_PER_POINT = 3  # sequential requests that read the server-reported compute time
FRAMEWORK_SECONDS = 0.0003  # a rough per-request cost of FastAPI itself, for sizing only


class BenchmarkError(RuntimeError):
    """The run cannot start (busy cores, a taken port, a missing tool)."""


@dataclass
class Options:
    variants: list[str] = field(default_factory=lambda: [v.name for v in VARIANTS])
    n_values: list[int] = field(default_factory=lambda: [0, 10, 20, 25, 30])
    connections: list[int] = field(default_factory=lambda: [16, 64])
    repeats: int = 3
    duration_seconds: float = 3.0
    max_point_seconds: float = 20.0
    warmup_n: int = 20
    warmup_max_seconds: dict[str, float] = field(default_factory=lambda: {"cpython": 8, "pypy": 30})
    locust_seconds: float = 10.0
    locust_users: int = 16
    locust_processes: int = 1
    ladder: bool = True  # the framework's ceiling per stack (benchmarks/ladder.py)
    ladder_seconds: int = 2
    ladder_repeats: int = 3
    cores: bool = True  # each variant on the whole machine (benchmarks/cores.py)
    cores_n: int = 30
    cores_workers: list[int] = field(default_factory=lambda: [1, 2])
    micro: bool = True
    micro_n: int = 25
    micro_fast: bool = False
    start_servers: bool = True
    free_ports: bool = False
    ports: dict[str, int] = field(default_factory=dict)  # overrides, e.g. a remapped compose stack
    fib_max_n: int = DEFAULT_FIB_MAX_N
    allow_busy: bool = False
    output_dir: Path | None = None  # None: a new folder under benchmarks/results/scratch/


@dataclass
class Target:
    """A variant being measured: where it answers and, when we started it, its processes."""

    variant: Variant
    base_url: str
    server: RunningServer | None = None

    def processes(self) -> list:
        return self.server.processes() if self.server else []

    def workers(self) -> list:
        return self.server.workers() if self.server else []


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
        busy = sampling.busy_cpus(set(pinning["load_generator_cpus"] + pinning["server_cpus"]))
        if busy:
            shown = ", ".join(f"CPU {cpu} {percent:.0f}%" for cpu, percent in busy.items())
            raise BenchmarkError(
                f"other processes keep the cores busy ({shown}); busiest: "
                + "; ".join(sampling.top_cpu_processes())
                + ". Stop them, or pass --allow-busy to measure anyway."
            )


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def estimate_seconds(options: Options) -> float:
    """A first estimate of the run's length, for the progress bar (refined as points are sized)."""
    points = len(options.n_values) * len(options.connections) * options.repeats
    per_variant = 6 + points * (options.duration_seconds + 0.5) + options.locust_seconds + 3
    warmups = sum(options.warmup_max_seconds[get_variant(v).interpreter] for v in options.variants)
    micro = (25 if options.micro_fast else 90) if options.micro else 0
    return (
        per_variant * len(options.variants)
        + warmups * 0.7
        + (estimate_ladder_seconds(options) if options.ladder else 0)
        + (estimate_cores_seconds(options) if options.cores else 0)
        + micro
    )


def estimate_ladder_seconds(options: Options) -> float:
    from benchmarks.ladder import ladder_rungs, ladder_stacks

    total = 0.0
    for stack in ladder_stacks(options.variants):
        rungs = len(ladder_rungs(stack, options.variants))
        warmup = options.warmup_max_seconds[stack.interpreter] * 0.6
        total += 3 + rungs * (warmup + options.ladder_repeats * (options.ladder_seconds + 0.5))
    return total


def estimate_cores_seconds(options: Options) -> float:
    runs = [get_variant(name).interpreter for name in options.variants] * len(options.cores_workers)
    measured = options.repeats * (options.duration_seconds + 0.5)
    return sum(5 + options.warmup_max_seconds[i] * 0.7 + measured for i in runs)


class Run:
    """The state of one run: its results, where they go, the pinning, the progress display."""

    def __init__(self, options: Options, progress: RunProgress) -> None:
        self.options = options
        self.progress = progress
        self.pinning = plan_pinning()
        self.load_cpus = set(self.pinning["load_generator_cpus"])
        self.server_cpus = set(self.pinning["server_cpus"])
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.folder = run_folder(options.output_dir)
        self.path = self.folder / f"{stamp}.json"
        self.latest = self.folder / "latest.json"
        self.started = time.monotonic()
        self.results: dict = {}

    def save(self) -> None:
        environment = self.results["environment"]
        environment["finished_at"] = _now()
        environment["duration_seconds"] = round(time.monotonic() - self.started, 1)
        save_results(self.results, self.path)
        shutil.copyfile(self.path, self.latest)

    def ports(self) -> dict[str, int]:
        ports = {}
        for name in self.options.variants:
            default = free_port() if self.options.free_ports else get_variant(name).default_port
            ports[name] = self.options.ports.get(name, default)
        return ports

    def execute(self) -> Path:
        options = self.options
        ports = self.ports()
        check_can_measure(options, self.pinning, ports)
        if self.pinning["pinned"]:
            os.sched_setaffinity(0, self.load_cpus)  # keep the harness off the server's cores
        tools = {"wrk": wrk_version(), "locust": locust_version()}
        settings = {**asdict(options), "output_dir": str(self.folder)}
        self.results = new_results(collect_environment(self.pinning, tools, settings))
        self.results["environment"]["started_at"] = _now()
        self.progress.start(estimate_seconds(options))
        for name in options.variants:
            self.measure_variant(get_variant(name), ports[name])
        if options.ladder and options.start_servers:
            from benchmarks.ladder import measure_ladder

            measure_ladder(self)
        if options.cores and options.start_servers:
            from benchmarks.cores import measure_cores

            measure_cores(self)
        if options.micro:
            self.measure_micro()
        self.save()
        return self.path

    def measure_variant(self, variant: Variant, port: int) -> None:
        entry = {
            "display_name": variant.display_name,
            "interpreter": variant.interpreter,
            "loop": variant.loop,  # uvicorn's event loop and HTTP parser (variants.py)
            "http": variant.http,
            "runtime": None,
            "implementation": None,
            "status": "pending",
            "error": None,
            "verification": None,
            "warmup": None,
            "memory": None,
        }
        self.results["variants"][variant.name] = entry
        try:
            with self.target(variant, port) as target:
                self.verify_and_measure(target, entry)
            entry["status"] = "measured"
        except KeyboardInterrupt:
            entry["status"], entry["error"] = "interrupted", "interrupted before it finished"
            self.save()
            raise
        except Exception as error:  # one variant failing must not lose the others
            entry["status"], entry["error"] = "failed", f"{variant.name}: {error}"
            self.progress.say(f"[red]{variant.name} failed:[/red] {error}")
        self.save()

    @contextmanager
    def target(self, variant: Variant, port: int) -> Iterator[Target]:
        if not self.options.start_servers:
            target = Target(variant, f"http://{LOOPBACK}:{port}")
            self.progress.step(f"{variant.name}: waiting for the running server on :{port}", 0)
            wait_for_health(target.base_url)
            yield target
            return
        self.progress.step(f"{variant.name}: starting on :{port}", 3)
        server = start_server(
            variant,
            port=port,
            workers=self.pinning["workers"],
            env={"FIB_MAX_N": str(self.options.fib_max_n)},
            cpus=self.server_cpus if self.pinning["pinned"] else None,
        )
        try:
            wait_until_healthy(server, timeout=90)
            yield Target(variant, server.base_url, server)
        finally:
            self.progress.step(f"{variant.name}: stopping", 0)
            stop_server(server)

    def verify_and_measure(self, target: Target, entry: dict) -> None:
        name = target.variant.name
        self.progress.step(f"{name}: verifying the contract", 2)
        entry["verification"] = verification = verify(target.base_url, self.options.fib_max_n)
        self.save()
        if not verification["passed"]:
            raise RuntimeError(failure_summary(verification))
        health = fetch(target.base_url, "/health").body
        entry["runtime"], entry["implementation"] = health["runtime"], health["implementation"]
        entry["warmup"] = self.warm_up(target)
        self.save()
        for n in self.options.n_values:
            compute_ms = self.probe_compute_times(target, n)
            for connections in self.options.connections:
                self.measure_point(target, n, connections, compute_ms)
        self.measure_locust(target)

    def warm_up(self, target: Target) -> dict:
        """A primer, then 1-second wrk runs until requests/s stops rising (or the time is up);
        the curve's clock starts with the primer (benchmarks/warmup.py)."""

        options = self.options
        limit = options.warmup_max_seconds[target.variant.interpreter]
        self.progress.step(f"{target.variant.name}: warming up (up to {limit:.0f} s)", limit * 0.7)
        started = time.monotonic()
        for n in sorted(set(options.n_values)):
            fetch(target.base_url, f"/fib/{n}")
        url = f"{target.base_url}/fib/{options.warmup_n}"
        seconds: list[float] = []
        curve: list[float] = []
        while time.monotonic() - started < limit:
            curve.append(run_wrk(WrkPlan(url, 16, 1, 10), self.load_cpus)["requests_per_second"])
            seconds.append(time.monotonic() - started)  # when this 1-second run ended
            if plateau_reached(curve):
                break
        return warmup_record(options.warmup_n, 16, seconds, curve)

    def probe_compute_times(self, target: Target, n: int) -> list[float]:
        times = []
        for _ in range(PROBES_PER_POINT):
            body = fetch(target.base_url, f"/fib/{n}").body
            times.append(body["compute_time_seconds"] * 1000)
        return times

    def measure_point(
        self, target: Target, n: int, connections: int, compute_ms: list[float]
    ) -> None:
        options = self.options
        capacity = len(self.server_cpus) / (
            statistics.median(compute_ms) / 1000 + FRAMEWORK_SECONDS
        )
        plan = size_point(
            f"{target.base_url}/fib/{n}",
            connections,
            expected_rps=capacity,
            base_seconds=options.duration_seconds,
            max_seconds=options.max_point_seconds,
        )
        label = f"{target.variant.name}: wrk n={n} c={connections}"
        repeats = []
        for index in range(options.repeats):
            self.progress.step(
                f"{label} ({index + 1}/{options.repeats}, {plan.duration_seconds:.0f} s)",
                plan.duration_seconds + 0.5,
                planned=options.duration_seconds + 0.5,
            )
            repeats.append(self.sampled_run(target, lambda: run_wrk(plan, self.load_cpus)))
        self.add_record(
            target, "wrk", "fib", n, connections, plan.duration_seconds, repeats, compute_ms
        )

    def sampled_run(
        self, target: Target, load: Callable[[], dict], load_cpus: int | None = None
    ) -> dict:
        """One load run with the server and the load generator sampled, then the backlog drained
        (`load_cpus`: how many CPUs the load generator may use, if not the harness's own)."""
        cpus = load_cpus or len(self.load_cpus)
        with sampling.sampled(target.processes, target.workers, cpus) as sample:
            outcome = load()
        if target.server:
            sampling.wait_until_idle(target.processes)
        outcome.update(
            server_cpu_cores=sample.server_cpu_cores,
            load_generator_cpu=sample.load_generator_cpu,
            **sample.memory(),
        )
        return outcome

    def measure_locust(self, target: Target) -> None:
        options = self.options
        if options.locust_seconds <= 0:
            return
        self.progress.step(
            f"{target.variant.name}: locust mixed scenario ({options.locust_seconds:.0f} s)",
            options.locust_seconds + 3,
        )
        repeat = self.sampled_run(
            target,
            lambda: run_locust(
                target.base_url,
                options.locust_users,
                options.locust_seconds,
                self.load_cpus,
                options.locust_processes,
            ),
        )
        self.add_record(
            target,
            "locust",
            "mixed",
            None,
            options.locust_users,
            options.locust_seconds,
            [repeat],
            None,
        )

    def add_record(
        self,
        target: Target,
        tool: str,
        scenario: str,
        n: int | None,
        connections: int,
        duration: float,
        repeats: list[dict],
        compute_ms: list[float] | None,
    ) -> None:
        self.results["records"].append(
            {
                "variant": target.variant.name,
                "tool": tool,
                "scenario": scenario,
                "n": n,
                "connections": connections,
                "duration_seconds": duration,
                "repeats": repeats,
                "summary": summarize_repeats(repeats, compute_ms),
            }
        )
        name = target.variant.name
        mine = [record for record in self.results["records"] if record["variant"] == name]
        self.results["variants"][name]["memory"] = variant_memory(mine)
        self.save()

    def measure_micro(self) -> None:
        from benchmarks.micro import run_micro

        options = self.options
        self.progress.step(
            "micro-benchmark of the hot path (pyperf)", 25 if options.micro_fast else 90
        )
        try:
            self.results["micro"] = run_micro(
                n=options.micro_n,
                fast=options.micro_fast,
                cpus=self.server_cpus if self.pinning["pinned"] else None,
                on_step=lambda label: self.progress.step(f"micro: {label}", 0),
            )
        except Exception as error:  # the load results stand without it
            self.results["micro"] = {"n": options.micro_n, "results": [], "error": str(error)}
        self.save()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
