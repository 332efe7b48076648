"""Measures PyPy's garbage-collector settings under load; writes
benchmarks/results/scratch/gc_results.json (git ignores it) unless told otherwise.

    .venv/cpython/bin/python -m benchmarks.pypy_gc [--variants pypy,pypy-cython]
        [--configs NAME,...] [--rounds N] [--output FILE]

Why: PyPy's GC lets a worker's memory grow for minutes before its first major collection when its
nursery is large, and it sizes the nursery from the cache size the CPU reports, so the same image
uses very different amounts of memory on different hosts. The PYPY_GC_* variables (PyPy's
pypy/doc/gc_info.rst) fix that; this script measures what they cost and what they bound, and the
PyPy variants' `environment` in variants.py is chosen from its results.

For every round, variant and configuration (the order of the configurations rotates from round to
round, so a slow drift of a shared machine favours none of them) it starts the server the way the
benchmark harness does (serve.py through benchmarks.servers, one worker pinned to CPU 1, load from
wrk pinned to CPU 0, 127.0.0.1 only), runs the PHASES below back to back, samples every server
process's USS and PSS once a second, and records requests/s per phase, the memory series and any
crash. Every server is stopped by its process group, also on failure or Ctrl-C.

A configuration sets each PYPY_GC_* variable that variants.py sets, or leaves it empty, which PyPy
reads as unset: "default" therefore measures PyPy's own defaults, whatever variants.py says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from benchmarks.servers import (
    RunningServer,
    ServerError,
    start_server,
    stop_server,
    wait_until_healthy,
)
from benchmarks.wrk import WrkError, WrkPlan, run_wrk
from variants import VARIANTS, get_variant

OUTPUT = Path(__file__).resolve().parent / "results" / "scratch" / "gc_results.json"
MIB = 2**20
SERVER_CPUS = {1}
LOAD_CPUS = {0}
CHUNK_SECONDS = 10  # wrk runs back to back in chunks, so requests/s is also known over time

# (name, path, connections, seconds): a warm-up for the JIT, then the mix the benchmark also sends.
PHASES: tuple[tuple[str, str, int, int], ...] = (
    ("warm-up", "/fib/0", 16, 20),
    ("fib0", "/fib/0", 16, 60),
    ("fib20", "/fib/20", 16, 40),
    ("health", "/health", 16, 20),
    ("fib0-c64", "/fib/0", 64, 40),
    ("fib0-again", "/fib/0", 16, 60),
)

# Every variable a configuration may set; the ones it does not set are passed empty (unset).
GC_VARIABLES = ("PYPY_GC_NURSERY", "PYPY_GC_MAX", "PYPY_GC_MIN")
CONFIGS: dict[str, dict[str, str]] = {
    "default": {},
    "nursery-4MB": {"PYPY_GC_NURSERY": "4MB"},
    "nursery-16MB": {"PYPY_GC_NURSERY": "16MB"},
    "nursery-32MB": {"PYPY_GC_NURSERY": "32MB"},
    "nursery-128MB": {"PYPY_GC_NURSERY": "128MB"},
    "max-300MB": {"PYPY_GC_MAX": "300MB"},
    "nursery-128MB+max-300MB": {"PYPY_GC_NURSERY": "128MB", "PYPY_GC_MAX": "300MB"},
    "nursery-16MB+max-300MB": {"PYPY_GC_NURSERY": "16MB", "PYPY_GC_MAX": "300MB"},
    "nursery-16MB+max-40MB": {"PYPY_GC_NURSERY": "16MB", "PYPY_GC_MAX": "40MB"},
}


def config_environment(config: str) -> dict[str, str]:
    return {name: CONFIGS[config].get(name, "") for name in GC_VARIABLES}


def nursery_bytes(env: dict[str, str]) -> int | None:
    """The nursery PyPy picks under `env` on this machine (its gc-set-nursery-size log)."""
    pypy = get_variant("pypy").interpreter_path
    result = subprocess.run(
        [str(pypy), "-c", "pass"],
        env={**os.environ, **env, "PYPYLOG": "gc-set-nursery-size:-"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    sizes = re.findall(r"nursery size: (\d+)", result.stdout + result.stderr)
    return int(sizes[-1]) if sizes else None


def sample(server: RunningServer, started: float, phase: dict[str, str], into: list) -> None:
    workers = {p.pid for p in server.workers()}
    row: dict = {"t": round(time.monotonic() - started, 1), "phase": phase["name"], "processes": []}
    for process in server.processes():
        try:
            memory = process.memory_full_info()
        except psutil.Error:
            continue
        row["processes"].append(
            {
                "pid": process.pid,
                "worker": process.pid in workers,
                "uss_mib": round(memory.uss / MIB, 1),
                "pss_mib": round(memory.pss / MIB, 1),
            }
        )
    into.append(row)


def measure(variant_name: str, config: str, round_number: int) -> dict:
    variant = get_variant(variant_name)
    env = config_environment(config)
    record: dict = {
        "variant": variant_name,
        "config": config,
        "environment": CONFIGS[config],
        "round": round_number,
        "nursery_bytes": nursery_bytes(env),
        "phases": [],
        "samples": [],
        "crash": None,
    }
    server = start_server(variant, workers=1, env=env, cpus=SERVER_CPUS)
    stop = threading.Event()
    phase = {"name": "start-up"}
    started = time.monotonic()

    def sampler() -> None:
        while not stop.wait(1.0):
            sample(server, started, phase, record["samples"])

    thread = threading.Thread(target=sampler, daemon=True)
    try:
        try:
            wait_until_healthy(server, timeout=120)
        except ServerError as error:
            record["crash"] = str(error)
            return record | {"summary": summarize(record)}
        thread.start()
        for name, path, connections, seconds in PHASES:
            phase["name"] = name
            chunks = []
            for _ in range(max(1, seconds // CHUNK_SECONDS)):
                if server.process.poll() is not None:
                    break
                plan = WrkPlan(f"{server.base_url}{path}", connections, CHUNK_SECONDS, 10)
                try:
                    chunks.append(run_wrk(plan, cpus=LOAD_CPUS))
                except WrkError as error:
                    chunks.append({"error": str(error)})
            requests = sum(chunk.get("requests", 0) for chunk in chunks)
            elapsed = sum(chunk.get("duration_seconds", 0.0) for chunk in chunks)
            record["phases"].append(
                {
                    "name": name,
                    "path": path,
                    "connections": connections,
                    "requests_per_second": requests / elapsed if elapsed else 0.0,
                    "chunk_requests_per_second": [
                        round(chunk.get("requests_per_second", 0.0), 1) for chunk in chunks
                    ],
                    "errors": sum(sum(c["errors"].values()) for c in chunks if "errors" in c),
                }
            )
            if server.process.poll() is not None:
                break
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        code = server.process.poll()
        if code is not None and record["crash"] is None:
            record["crash"] = f"the server exited with {code}: {server.log_tail(5)}"
        stop_server(server)
    record["summary"] = summarize(record)
    return record


def summarize(record: dict) -> dict:
    pss = [
        max(p["pss_mib"] for p in row["processes"] if p["worker"])
        for row in record["samples"]
        if any(p["worker"] for p in row["processes"])
    ]
    uss = [
        max(p["uss_mib"] for p in row["processes"] if p["worker"])
        for row in record["samples"]
        if any(p["worker"] for p in row["processes"])
    ]
    last_minute = pss[-60:]
    first_minute = pss[:60]
    return {
        "requests_per_second": {
            phase["name"]: round(phase["requests_per_second"], 1) for phase in record["phases"]
        },
        "worker_pss_mib": {
            "first": pss[0] if pss else None,
            "peak": max(pss) if pss else None,
            "end": pss[-1] if pss else None,
            "peak_in_first_minute": max(first_minute) if first_minute else None,
            "peak_in_last_minute": max(last_minute) if last_minute else None,
            "min_in_last_minute": min(last_minute) if last_minute else None,
        },
        "worker_uss_mib_peak": max(uss) if uss else None,
        "errors": sum(phase["errors"] for phase in record["phases"]),
        "crashed": record["crash"] is not None,
    }


def table(records: list[dict]) -> dict:
    """Per variant and configuration: the median over rounds of each phase's requests/s, and the
    largest worker PSS seen in any round."""
    out: dict = {}
    for record in records:
        entry = out.setdefault(record["variant"], {}).setdefault(
            record["config"], {"rounds": 0, "rps": {}, "peak_pss_mib": 0.0, "crashes": 0}
        )
        entry["rounds"] += 1
        entry["crashes"] += int(record["summary"]["crashed"])
        for name, rps in record["summary"]["requests_per_second"].items():
            entry["rps"].setdefault(name, []).append(rps)
        peak = record["summary"]["worker_pss_mib"]["peak"] or 0.0
        entry["peak_pss_mib"] = max(entry["peak_pss_mib"], peak)
    for configs in out.values():
        for entry in configs.values():
            entry["median_rps"] = {k: statistics.median(v) for k, v in entry.pop("rps").items()}
    return out


def machine() -> dict:
    cache = re.search(r"cache size\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "cpuinfo_cache_size": cache.group(1).strip() if cache else None,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
    }


def measuring_options(argv: list[str]) -> list[str]:
    """The options that shape the measurement (not where it is written)."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--output":
            skip = True
        elif not word.startswith(("--output=", "--append")):
            kept.append(word)
    return kept


def interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the `finally` blocks stop the server and wrk on `kill` too


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="pypy,pypy-cython")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--append", action="store_true", help="add to the records in --output")
    arguments = parser.parse_args(argv)
    variants = arguments.variants.split(",")
    configs = arguments.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS] + [
        v for v in variants if v not in {x.name for x in VARIANTS if x.interpreter == "pypy"}
    ]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    results: dict = {
        "command_line": " ".join(["-m benchmarks.pypy_gc", *measuring_options(argv)]),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "phases": [{"name": n, "path": p, "connections": c, "seconds": s} for n, p, c, s in PHASES],
        "configs": {name: CONFIGS[name] for name in configs},
        "records": [],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    if arguments.append and arguments.output.exists():
        earlier = json.loads(arguments.output.read_text())
        results["command_line"] = f"{earlier['command_line']}; {results['command_line']}"
        results["started_at"] = earlier["started_at"]
        results["configs"] = {**earlier["configs"], **results["configs"]}
        results["records"] = earlier["records"]
    for round_number in range(arguments.rounds):
        shift = round_number % len(configs)
        order = configs[shift:] + configs[:shift]
        for variant in variants:
            for config in order:
                print(f"round {round_number + 1}: {variant} {config}", flush=True)
                record = measure(variant, config, round_number + 1)
                print(f"  {json.dumps(record['summary'])}", flush=True)
                results["records"].append(record)
                results["table"] = table(results["records"])
                arguments.output.write_text(json.dumps(results, indent=1) + "\n")
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    arguments.output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
