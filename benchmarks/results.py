"""The versioned results file: its shape, the statistics over repeats, atomic writes, and the
environment it records. Everything the harness measures goes through here; the table and the
plots are rendered from the file alone.

Shape (format_version 1), all times in the unit their key names:

    {"format": "fastapi-hot-paths-benchmark", "format_version": 1,
     "environment": {"started_at", "finished_at", "duration_seconds", "command_line", "git_commit",
                     "git_dirty", "machine": {"cpu_model", "cores", "memory_gib", "kernel", "os"},
                     "pinning": {"pinned", "load_generator_cpus", "server_cpus", "workers", "note"},
                     "interpreters": {"cpython"|"pypy": {"runtime", "packages": {name: version}}},
                     "tools": {"wrk", "locust", "gcc"}, "settings": {...the run's options...}},
     "variants": {NAME: {"display_name", "interpreter", "runtime", "implementation",
                         "status": "measured"|"failed"|"interrupted"|"pending", "error",
                         "verification": {"passed", "checks": [{"name", "passed", "detail"}]},
                         "warmup": {"n", "connections", "seconds": [..],
                                    "requests_per_second": [..], "plateau_reached": bool}}},
     "records": [{"variant", "tool": "wrk"|"locust", "scenario": "fib"|"mixed", "n": int|None,
                  "connections", "duration_seconds", "repeats": [REPEAT, ...], "summary": SUMMARY}],
     "micro": {"n", "results": [{"name", "interpreter", "implementation", "mean_seconds",
                                 "stdev_seconds", "values"}], "error"}}

    REPEAT = {"requests_per_second", "requests", "latency_ms": {"p50", "p90", "p99", "max"},
              "errors": {"connect", "read", "write", "timeout", "non_2xx"},
              "server_cpu_cores", "load_generator_cpu", "uss_mib_per_worker",
              "pss_mib_per_worker"}
    SUMMARY = {"requests_per_second": {"median", "min", "max", "cv"},
               "latency_ms": {"p50", "p90", "p99", "max"}, "errors": {..., "total"},
               "compute_time_ms": {"median", "min", "max"} | None,
               "uss_mib_per_worker", "pss_mib_per_worker", "server_cpu_cores",
               "load_generator_cpu", "load_generator_saturated": bool, "unreliable": [reasons]}

`load_generator_cpu` is the load generator's CPU time over wall time divided by the cores it may
use (1.0 = its cores were fully busy). A row is unreliable when the coefficient of variation of
requests/s over repeats exceeds CV_LIMIT or the load generator used more than SATURATION_LIMIT.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "fastapi-hot-paths-benchmark"
FORMAT_VERSION = 1
CV_LIMIT = 0.05
SATURATION_LIMIT = 0.90
RESULTS_DIR = Path(__file__).resolve().parent / "results"

Json = dict[str, Any]


class ResultsFormatError(ValueError):
    """A file that is not a results file of a version this code reads."""


def new_results(environment: Json) -> Json:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "environment": environment,
        "variants": {},
        "records": [],
        "micro": None,
    }


def load_results(path: Path) -> Json:
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ResultsFormatError(f"{path}: not a benchmark results file")
    if data.get("format_version") != FORMAT_VERSION:
        raise ResultsFormatError(
            f"{path}: format version {data.get('format_version')}, this code reads {FORMAT_VERSION}"
        )
    return data


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; results are for everyone to read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_results(results: Json, path: Path) -> None:
    write_atomically(path, json.dumps(results, indent=1, sort_keys=False) + "\n")


def spread(values: list[float]) -> Json:
    """Median, min, max and coefficient of variation (stdev / mean; 0 for a single value)."""
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 and mean > 0 else 0.0
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "cv": cv}


def summarize_repeats(repeats: list[Json], compute_times_ms: list[float] | None) -> Json:
    """The SUMMARY of a record from its REPEATs (see the module docstring)."""
    rps = spread([r["requests_per_second"] for r in repeats])
    latencies = [r["latency_ms"] for r in repeats]
    latency = {
        key: statistics.median(lat[key] for lat in latencies) for key in ("p50", "p90", "p99")
    }
    latency["max"] = max(lat["max"] for lat in latencies)
    error_keys = repeats[0]["errors"].keys()
    errors = {key: sum(r["errors"][key] for r in repeats) for key in error_keys}
    errors["total"] = sum(errors.values())
    load_cpu = max(r["load_generator_cpu"] for r in repeats)
    saturated = load_cpu > SATURATION_LIMIT
    unreliable = []
    if rps["cv"] > CV_LIMIT:
        unreliable.append(f"requests/s varied by {rps['cv']:.0%} (CV) over repeats")
    if saturated:
        unreliable.append(f"the load generator used {load_cpu:.0%} of its cores")
    return {
        "requests_per_second": rps,
        "latency_ms": latency,
        "errors": errors,
        "compute_time_ms": _compute_time(compute_times_ms),
        "uss_mib_per_worker": _median_of(repeats, "uss_mib_per_worker"),
        "pss_mib_per_worker": _median_of(repeats, "pss_mib_per_worker"),
        "server_cpu_cores": _median_of(repeats, "server_cpu_cores"),
        "load_generator_cpu": load_cpu,
        "load_generator_saturated": saturated,
        "unreliable": unreliable,
    }


def _median_of(repeats: list[Json], key: str) -> float | None:
    values = [r[key] for r in repeats if r.get(key) is not None]
    return statistics.median(values) if values else None


def _compute_time(samples_ms: list[float] | None) -> Json | None:
    if not samples_ms:
        return None
    return {"median": statistics.median(samples_ms), "min": min(samples_ms), "max": max(samples_ms)}
