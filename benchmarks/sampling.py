"""psutil sampling while a load runs: the server's CPU and each worker's memory (USS and PSS,
not summed RSS, which counts pages shared between forked workers once per worker), and the load
generator's CPU through the rusage of finished child processes.

Memory is sampled once a second during the run and once more when the load has finished; a run
keeps the peak of those samples and the last one (its end). Both are needed: a PyPy worker's heap
keeps growing for minutes under load, so a peak alone hides whether it levelled off."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import psutil

MIB = 1024 * 1024


@dataclass
class Sample:
    server_cpu_cores: float | None = None
    load_generator_cpu: float = 0.0  # share of the load generator's cores, 1.0 = all busy
    wall_seconds: float = 0.0
    # (USS, PSS) MiB per worker (the average over the workers), oldest first
    memory_samples: list[tuple[float, float]] = field(default_factory=list)

    def memory(self) -> dict[str, float | None]:
        """The REPEAT's memory keys (benchmarks/results.py): the peak and the last sample."""
        return memory_figures(self.memory_samples)


def memory_figures(samples: list[tuple[float, float]]) -> dict[str, float | None]:
    """Peak and end (the last sample) of USS and PSS per worker; None without samples."""
    uss = [sample[0] for sample in samples]
    pss = [sample[1] for sample in samples]
    return {
        "uss_mib_per_worker_peak": max(uss) if uss else None,
        "uss_mib_per_worker_end": uss[-1] if uss else None,
        "pss_mib_per_worker_peak": max(pss) if pss else None,
        "pss_mib_per_worker_end": pss[-1] if pss else None,
    }


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def _memory_per_worker(workers: list[psutil.Process]) -> tuple[float, float] | None:
    uss, pss, counted = 0, 0, 0
    for worker in workers:
        try:
            info = worker.memory_full_info()
        except psutil.Error:
            continue
        uss, pss, counted = uss + info.uss, pss + getattr(info, "pss", info.uss), counted + 1
    return (uss / counted / MIB, pss / counted / MIB) if counted else None


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def sampled(
    server_processes: Callable[[], list[psutil.Process]] | None,
    server_workers: Callable[[], list[psutil.Process]] | None,
    load_generator_cores: int,
    interval: float = 1.0,
) -> Iterator[Sample]:
    """Sample during the block; the Sample is filled in when the block ends.

    The load generator must run as a child process that finishes inside the block: its CPU is
    read from the rusage of reaped children.
    """
    sample = Sample()
    stop = threading.Event()
    processes = server_processes() if server_processes else []
    cpu_before = _cpu_seconds(processes)
    children_before = _children_cpu_seconds()
    started = time.monotonic()

    def sample_memory() -> None:
        while not stop.wait(interval):
            if server_workers and (memory := _memory_per_worker(server_workers())):
                sample.memory_samples.append(memory)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    try:
        yield sample
    finally:
        stop.set()
        sampler.join()
        sample.wall_seconds = wall = time.monotonic() - started
        if processes:
            sample.server_cpu_cores = (_cpu_seconds(processes) - cpu_before) / wall
        load_seconds = _children_cpu_seconds() - children_before
        sample.load_generator_cpu = load_seconds / wall / max(load_generator_cores, 1)
        # The last sample is taken when the load has finished: the run's end-of-run memory.
        if server_workers and (memory := _memory_per_worker(server_workers())):
            sample.memory_samples.append(memory)


def wait_until_idle(
    server_processes: Callable[[], list[psutil.Process]],
    threshold_cores: float = 0.1,
    window: float = 0.3,
    timeout: float = 120.0,
) -> float:
    """Wait until the server uses less than `threshold_cores` CPU; return the seconds waited.

    After a closed-loop run stops, a server may still be computing requests whose clients left;
    measuring the next point before that backlog drains would charge it to the wrong point.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        processes = server_processes()
        before = _cpu_seconds(processes)
        time.sleep(window)
        if (_cpu_seconds(processes) - before) / window < threshold_cores:
            break
    return time.monotonic() - started


def busy_cpus(
    cpus: set[int], seconds: float = 1.0, limit_percent: float = 30.0
) -> dict[int, float]:
    """The CPUs among `cpus` that were more than `limit_percent` busy over `seconds`."""
    usage = psutil.cpu_percent(interval=seconds, percpu=True)
    return {
        cpu: usage[cpu] for cpu in sorted(cpus) if cpu < len(usage) and usage[cpu] > limit_percent
    }


def top_cpu_processes(count: int = 5, seconds: float = 0.5) -> list[str]:
    """'pid name (NN%)' of the processes using the most CPU, to say who keeps the cores busy."""
    processes = list(psutil.process_iter(["pid", "name"]))
    for process in processes:
        with suppress(psutil.Error):
            process.cpu_percent(None)
    time.sleep(seconds)
    usage = []
    for process in processes:
        try:
            usage.append((process.cpu_percent(None), process.info["pid"], process.info["name"]))
        except psutil.Error:
            continue
    usage.sort(reverse=True)
    return [f"{pid} {name} ({percent:.0f}%)" for percent, pid, name in usage[:count] if percent > 1]
