"""The versioned results file: its shape, the statistics over repeats, atomic writes, and the
environment it records. Everything the harness measures goes through here; the table and the
plots are rendered from the file alone. The entries below are built, and checked, by the typed
constructors of benchmarks/records.py.

Shape (format_version 2), all times in the unit their key names:

    {"format": "fastapi-hot-paths-benchmark", "format_version": 2,
     "environment": {"started_at", "finished_at", "duration_seconds", "command_line", "git_commit",
                     "git_dirty", "machine": {"cpu_model", "cores", "memory_gib", "kernel", "os"},
                     "pinning": {"pinned", "load_generator_cpus", "server_cpus", "workers", "note"},
                     "interpreters": {"cpython"|"pypy": {"runtime", "packages": {name: version}}},
                     "tools": {"wrk", "locust", "gcc"}, "settings": {...the run's options...}},
     "variants": {NAME: {"display_name", "interpreter", "runtime", "implementation",
                         "status": "measured"|"failed"|"interrupted"|"pending", "error",
                         "verification": {"passed", "checks": [{"name", "passed", "detail"}]},
                         "warmup": WARMUP | None, "memory": MEMORY | None}},
     "records": [{"variant", "tool": "wrk"|"locust", "scenario": "fib"|"mixed", "n": int|None,
                  "connections", "duration_seconds", "repeats": [REPEAT, ...], "summary": SUMMARY}],
     "micro": {"n", "results": [{"name", "interpreter", "implementation", "result" (fib(n) as
                                 computed), "mean_seconds", "stdev_seconds", "values"}], "error"},
     "ladder": {"path", "connections", "duration_seconds", "repeats",
                "stacks": [{"interpreter", "loop", "http", "chosen": bool,
                            "status": "measured"|"failed"|"interrupted"|"pending", "error",
                            "rungs": [RUNG, ...]}]},  (optional, as is "cores")
     "cores": {"n", "connections", "cpus": [..], "note",
               "runs": [{"variant", "workers", "status", "error", "warmup": WARMUP | None,
                         "duration_seconds", "repeats": [REPEAT, ...],
                         "summary": SUMMARY | None}]},
     "scoring": {"path", "connections", "duration_seconds", "repeats",
                 "bodies": {"seed", "count", "history_length"},
                 "variants": {NAME: {"display_name", "interpreter", "engine", "validation",
                                     "runtime", "compiled", "status", "error", "verification",
                                     "warmup": WARMUP | None, "wrk": LOAD | None,
                                     "locust": LOAD | None, "memory": MEMORY | None}}},
     "upgraded_from_version": 1}  (only in a version-1 file upgraded on load)

    WARMUP = {"n", "connections", "seconds": [..], "requests_per_second": [..],
              "plateau_reached": bool, "plateau_start_seconds": float | None}
    MEMORY = {"peak_uss_mib_per_worker", "peak_pss_mib_per_worker",
              "end_uss_mib_per_worker", "end_pss_mib_per_worker"}
    REPEAT = {"requests_per_second", "requests", "duration_seconds" (wrk),
              "latency_ms": {"p50", "p90", "p99", "max"},
              "errors": {"connect", "read", "write", "timeout", "non_2xx"} (wrk) | {"failures"},
              "server_cpu_cores", "load_generator_cpu",
              "uss_mib_per_worker_peak", "uss_mib_per_worker_end",
              "pss_mib_per_worker_peak", "pss_mib_per_worker_end"}
    SUMMARY = {"requests_per_second": {"median", "min", "max", "cv"},
               "latency_ms": {"p50", "p90", "p99", "max"}, "errors": {..., "total"},
               "compute_time_ms": {"median", "min", "max"} | None,
               "uss_mib_per_worker_peak", "uss_mib_per_worker_end",
               "pss_mib_per_worker_peak", "pss_mib_per_worker_end",
               "server_cpu_cores", "load_generator_cpu", "load_generator_saturated": bool,
               "unreliable": [reasons]}
    LOAD = {"tool": "wrk"|"locust", "connections" (Locust: its users), "duration_seconds",
            "repeats": [REPEAT, ...], "summary": SUMMARY}
    RUNG = {"key": "asgi"|"starlette"|"fastapi"|"variant:NAME"|"offloaded:NAME", "label",
            "variant": NAME | None, "app", "environment": {name: value},
            "warmup": WARMUP | None, "repeats": [REPEAT, ...], "summary": SUMMARY | None}

Warm-up (benchmarks/warmup.py): `seconds` are the seconds of warm-up load when each 1-second wrk
run ended (time.monotonic(), from the start of the warm-up, which follows the health wait and the
contract check); `plateau_start_seconds` is the point where the plateau began, None without one.

Ladder (benchmarks/ladder.py): GET /fib/0 per stack (an interpreter, its event loop and HTTP
parser); `chosen` marks the stack of that interpreter's variants (PyPy's h11 is measured beside it).
The rungs go bare ASGI app -> Starlette route -> FastAPI route with our response model and no
computation (FastAPI's floor) -> each of the interpreter's variants -> the first variant with every
computation handed to a worker thread (its `environment` has FIB_INLINE_SECONDS=0). A stack's rungs
were measured interleaved on the same server CPUs, so ratios within a stack are fair. A rung's
`summary` is None until the stack's repeats are done.

Cores (benchmarks/cores.py): each variant served with `workers` workers on every CPU in `cpus`,
shared with wrk (the `note` says so), at GET /fib/`n`; the SUMMARY's `server_cpu_cores` is how many
cores the server's processes used. A run's `summary` is None unless it was measured. Files written
before these sections lack them.

Scoring (benchmarks/scoring.py): the case study's fraud-scoring service (case-study/), one entry
per flavour (SCORING_VARIANTS in variants.py), POST `path` with the generated `bodies` in turn;
its WARMUP has `n` None. Files written before this section lack it.

Requests: a wrk REPEAT's `requests` and `requests_per_second` count 2xx answers only; the other
answers are errors (`non_2xx`). A Locust REPEAT's `requests` are Locust's, failures included
(any failure flags the row).

Locust: each REPEAT of a Locust record (or of a scoring flavour's "locust" LOAD) is a fresh Locust
run, settings.locust_repeats (scoring_locust_repeats) of them, summarized like wrk's. Files written
before Locust was repeated hold one per record, in the same shape: they load as they are, their
rows flagged for the single repeat (and `compare` says "too few repeats" for them).

Memory, in MiB per worker (the average over the server's workers of each worker's USS or PSS):
a REPEAT's `*_peak` is the highest sample of that run, `*_end` its last sample, taken when the load
had finished. A SUMMARY's `*_peak` is the highest over its repeats, `*_end` the last repeat's end.
A variant's MEMORY (`variant_memory`) is the peak over all of the variant's runs and the end of its
last run: under steady load a PyPy worker's heap grows for minutes, so the two differ.

`cv` is the coefficient of variation (stdev / mean) of requests/s over the repeats, None for a
single repeat. `load_generator_cpu` is the load generator's CPU time over wall time divided by the
cores it may use (1.0 = its cores were fully busy). A row is unreliable (`unreliable` gives the
reasons) when it has fewer than two repeats (no spread was measured), any error, a CV above
CV_LIMIT, or a load generator that used more than SATURATION_LIMIT.

Version 1 files are upgraded on load (`upgrade`): their repeats' `uss_mib_per_worker` and
`pss_mib_per_worker` were already the peak of the run's samples, their end is unknown (None);
wrk's non-2xx answers are taken out of requests and requests/s; summaries are recomputed from the
repeats (the server-reported compute time is kept); warm-up seconds become 1..len (version 1 did
not record timestamps) and the plateau start is derived from the curve.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.warmup import warmup_record

FORMAT = "fastapi-hot-paths-benchmark"
FORMAT_VERSION = 2
CV_LIMIT = 0.05
SATURATION_LIMIT = 0.90
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MEMORY_KINDS = ("uss", "pss")
# How a reason names an error count; other keys are shown as they are.
ERROR_LABELS = {"non_2xx": "non-2xx answers"}

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
    if data.get("format_version") not in (1, FORMAT_VERSION):
        raise ResultsFormatError(
            f"{path}: format version {data.get('format_version')}, this code reads 1 and "
            f"{FORMAT_VERSION}"
        )
    return upgrade(data)


def upgrade(data: Json) -> Json:
    """A results file in the current format: a version-1 file upgraded (see the docstring), a
    current one as it is."""
    if data.get("format_version") != 1:
        return data
    upgraded = copy.deepcopy(data)
    for record in upgraded.get("records", []):
        _upgrade_record_v1(record)
    for name, entry in upgraded.get("variants", {}).items():
        entry["warmup"] = _upgrade_warmup_v1(entry.get("warmup"))
        records = [r for r in upgraded.get("records", []) if r["variant"] == name]
        entry["memory"] = variant_memory(records) if records else None
    upgraded["format_version"] = FORMAT_VERSION
    upgraded["upgraded_from_version"] = 1
    return upgraded


def _upgrade_record_v1(record: Json) -> None:
    for repeat in record["repeats"]:
        non_2xx = repeat["errors"].get("non_2xx", 0)
        if non_2xx and repeat["requests"]:
            served = repeat["requests"] - non_2xx
            repeat["requests_per_second"] *= served / repeat["requests"]
            repeat["requests"] = served
        for kind in MEMORY_KINDS:
            repeat[f"{kind}_mib_per_worker_peak"] = repeat.pop(f"{kind}_mib_per_worker", None)
            repeat[f"{kind}_mib_per_worker_end"] = None
    # The compute-time samples were not kept, only their summary: carry it over.
    compute_time = record["summary"].get("compute_time_ms")
    record["summary"] = {
        **summarize_repeats(record["repeats"], None),
        "compute_time_ms": compute_time,
    }


def _upgrade_warmup_v1(warmup: Json | None) -> Json | None:
    if not warmup or not warmup.get("requests_per_second"):
        return warmup
    curve = warmup["requests_per_second"]
    seconds = [float(index + 1) for index in range(len(curve))]
    return warmup_record(warmup["n"], warmup["connections"], seconds, curve)


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
    """Median, min, max and coefficient of variation (stdev / mean; None for a single value,
    whose spread was not measured)."""
    if len(values) < 2:
        return {"median": values[0], "min": values[0], "max": values[0], "cv": None}
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if mean > 0 else 0.0
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
    return {
        "requests_per_second": rps,
        "latency_ms": latency,
        "errors": errors,
        "compute_time_ms": _compute_time(compute_times_ms),
        **summary_memory(repeats),
        "server_cpu_cores": _median_of(repeats, "server_cpu_cores"),
        "load_generator_cpu": load_cpu,
        "load_generator_saturated": load_cpu > SATURATION_LIMIT,
        "unreliable": unreliable_reasons(len(repeats), rps["cv"], errors, load_cpu),
    }


def unreliable_reasons(repeats: int, cv: float | None, errors: Json, load_cpu: float) -> list[str]:
    """Why a row must be read with care; empty when nothing is wrong."""
    reasons = []
    if repeats < 2:
        reasons.append("one repeat, so no spread was measured")
    if errors["total"]:
        reasons.append(error_reason(errors))
    if cv is not None and cv > CV_LIMIT:
        reasons.append(f"requests/s varied by {cv:.0%} (CV) over repeats")
    if load_cpu > SATURATION_LIMIT:
        reasons.append(f"the load generator used {load_cpu:.0%} of its cores")
    return reasons


def error_reason(errors: Json) -> str:
    """`9 errors (timeout 3, non-2xx answers 6)`."""
    total = errors["total"]
    parts = [
        f"{ERROR_LABELS.get(key, key)} {count}"
        for key, count in errors.items()
        if key != "total" and count
    ]
    return f"{total} error{'s' if total != 1 else ''} ({', '.join(parts)})"


def summary_memory(repeats: list[Json]) -> Json:
    """The highest peak over the repeats and the end of the last repeat."""
    figures = {}
    for kind in MEMORY_KINDS:
        peaks = [r.get(f"{kind}_mib_per_worker_peak") for r in repeats]
        known = [peak for peak in peaks if peak is not None]
        figures[f"{kind}_mib_per_worker_peak"] = max(known) if known else None
        figures[f"{kind}_mib_per_worker_end"] = repeats[-1].get(f"{kind}_mib_per_worker_end")
    return figures


def variant_memory(records: list[Json]) -> Json:
    """A variant's MEMORY from its records, in the order they were measured: the peak over all
    of its runs, and the last sample of its last run (None where nothing was sampled)."""
    repeats = [repeat for record in records for repeat in record["repeats"]]
    memory = {}
    for kind in MEMORY_KINDS:
        peaks = [r.get(f"{kind}_mib_per_worker_peak") for r in repeats]
        known = [peak for peak in peaks if peak is not None]
        memory[f"peak_{kind}_mib_per_worker"] = max(known) if known else None
    for kind in MEMORY_KINDS:
        end = repeats[-1].get(f"{kind}_mib_per_worker_end") if repeats else None
        memory[f"end_{kind}_mib_per_worker"] = end
    return memory


def memory_of(results: Json, variant: str) -> Json | None:
    """The variant's MEMORY as the file stores it, else derived from its records; None when it
    has no records."""
    entry = results.get("variants", {}).get(variant) or {}
    if entry.get("memory"):
        return entry["memory"]
    records = [r for r in results.get("records", []) if r["variant"] == variant]
    return variant_memory(records) if records else None


def _median_of(repeats: list[Json], key: str) -> float | None:
    values = [r[key] for r in repeats if r.get(key) is not None]
    return statistics.median(values) if values else None


def _compute_time(samples_ms: list[float] | None) -> Json | None:
    if not samples_ms:
        return None
    return {"median": statistics.median(samples_ms), "min": min(samples_ms), "max": max(samples_ms)}
