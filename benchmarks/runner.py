"""One benchmark run: for each variant, start it, verify it, warm it up, sweep n × connections with
wrk, run the Locust scenario, sample CPU and memory throughout, stop it (benchmarks/sweep.py); then
the ladder, the whole-machine runs, the case study's scoring service and the micro-benchmark. The
results file is rewritten after every measurement, so an interrupted run or a variant that dies
keeps everything already measured. What is planned before the first measurement (options, pinning,
ports, checks, the time estimate) is in benchmarks/planning.py."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import sampling
from benchmarks.cores import measure_cores
from benchmarks.environment import collect_environment
from benchmarks.ladder import measure_ladder
from benchmarks.locust_run import locust_version
from benchmarks.micro import run_micro
from benchmarks.planning import (
    START_STOP_SECONDS,
    Options,
    check_can_measure,
    estimate_seconds,
    micro_seconds,
    plan_pinning,
    plan_ports,
)
from benchmarks.progress import RunProgress
from benchmarks.records import micro_section, recorded_outcome, variant_entry
from benchmarks.reference import run_folder
from benchmarks.results import Json, new_results, save_results, variant_memory
from benchmarks.scoring import measure_scoring
from benchmarks.sweep import measure_target
from benchmarks.target import Target, served_target
from benchmarks.wrk import wrk_version
from processes import LOOPBACK, wait_for_health
from variants import Variant, get_variant


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
        self.results: Json = {}

    def save(self) -> None:
        environment = self.results["environment"]
        environment["finished_at"] = _now()
        environment["duration_seconds"] = round(time.monotonic() - self.started, 1)
        save_results(self.results, self.path)
        shutil.copyfile(self.path, self.latest)

    def execute(self) -> Path:
        options = self.options
        ports = plan_ports(options)
        check_can_measure(options, self.pinning, ports)
        if self.pinning["pinned"]:
            os.sched_setaffinity(0, self.load_cpus)  # keep the harness off the server's cores
        self.results = new_results(self.environment())
        self.results["environment"]["started_at"] = _now()
        self.progress.start(estimate_seconds(options))
        for name in options.variants:
            self.measure_variant(get_variant(name), ports[name])
        if options.ladder and options.start_servers:
            measure_ladder(self)
        if options.cores and options.start_servers:
            measure_cores(self)
        if options.scoring and options.start_servers:
            measure_scoring(self)
        if options.micro:
            self.measure_micro()
        self.save()
        return self.path

    def environment(self) -> Json:
        tools = {"wrk": wrk_version(), "locust": locust_version()}
        settings = {**asdict(self.options), "output_dir": str(self.folder)}
        return collect_environment(self.pinning, tools, settings)

    def measure_variant(self, variant: Variant, port: int) -> None:
        self.results["variants"][variant.name] = entry = variant_entry(variant)
        outcome = recorded_outcome(entry, variant.name, self.save, self.progress.say)
        with outcome, self.target(variant, port) as target:
            measure_target(self, target, entry)

    @contextmanager
    def target(self, variant: Variant, port: int) -> Iterator[Target]:
        """The variant on `port`: started (and stopped) here, or already running (--no-start)."""
        if not self.options.start_servers:
            target = Target(variant, f"http://{LOOPBACK}:{port}")
            self.progress.step(f"{variant.name}: waiting for the running server on :{port}", 0)
            wait_for_health(target.base_url)
            yield target
            return
        self.progress.step(f"{variant.name}: starting on :{port}", START_STOP_SECONDS)
        with served_target(
            variant,
            port=port,
            workers=self.pinning["workers"],
            fib_max_n=self.options.fib_max_n,
            cpus=self.server_cpus_if_pinned(),
        ) as target:
            try:
                yield target
            finally:
                self.progress.step(f"{variant.name}: stopping", 0)

    def server_cpus_if_pinned(self) -> set[int] | None:
        return self.server_cpus if self.pinning["pinned"] else None

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

    def add_record(self, record: Json) -> None:
        """A measured record (benchmarks/records.py); its variant's memory so far; saved."""
        self.results["records"].append(record)
        name = record["variant"]
        measured = [kept for kept in self.results["records"] if kept["variant"] == name]
        self.results["variants"][name]["memory"] = variant_memory(measured)
        self.save()

    def measure_micro(self) -> None:
        options = self.options
        self.progress.step("micro-benchmark of the hot path (pyperf)", micro_seconds(options))
        try:
            self.results["micro"] = run_micro(
                n=options.micro_n,
                fast=options.micro_fast,
                cpus=self.server_cpus_if_pinned(),
                on_step=lambda label: self.progress.step(f"micro: {label}", 0),
            )
        except Exception as error:  # the load results stand without it
            self.results["micro"] = micro_section(options.micro_n, [], str(error))
        self.save()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
