"""`make soak`: what production brings, measured on every variant of both services.

Parts, each per variant (`--parts` picks some):
- sustained: minutes of mixed load at high concurrency, `/health` throughout, memory per worker
  over time (reliability_soak.py);
- killed-worker: `kill -9` of one worker under load: replaced or not, how long until full
  throughput, which requests failed (reliability_faults.py);
- shutdown: SIGTERM under load: in-flight requests complete, the process exits, nothing is left
  (reliability_faults.py);
- container-stop: the same as `docker compose stop` does it: the image's command as PID 1 of a PID
  namespace, SIGTERM to it alone, SIGKILL after the compose file's stop_grace_period, and (the
  scoring service) one upload that never ends, which only --timeout-graceful-shutdown stops;
- hostile: slowloris, idle keep-alive connections, oversized headers and bodies, a `/health`
  flood (reliability_clients.py).

Every part saves the results file as it ends; a part that fails is recorded with its reason and
the rest still run. A complete default run replaces benchmarks/results/soak/latest.json, which
the README's "Reliability" table quotes; `--quick` and partial runs write under
benchmarks/results/scratch/. The fast versions of these checks are in the test suite.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.environment import machine
from benchmarks.planning import refuse_busy_cpus
from benchmarks.plots_soak import write_memory_plot
from benchmarks.records import recorded_outcome
from benchmarks.reference import SCRATCH_DIR
from benchmarks.reliability_soak import SoakOptions, measure_sustained
from benchmarks.results import RESULTS_DIR, Json, save_results
from variants import ALL_VARIANTS, Variant, get_variant

SOAK_DIR = RESULTS_DIR / "soak"
SCHEMA = "fastapi-hot-paths/soak/1"
PARTS = ("sustained", "killed-worker", "shutdown", "container-stop", "hostile")  # PART_RUNNERS
QUICK_SECONDS = 5
# A deployment's view: each server runs as it would be deployed, a worker per core, and the load
# generator has no core of its own on a 2-core machine.
PINNING_NOTE = "not pinned: each server's 2 workers and the load generator share every core"
# The sustained part also serves these variants with another of serve.py's settings, as rows of
# their own: the CPython variants serve on asyncio because uvloop (libuv) accepts one new connection
# per turn of a busy event loop, so under a burst of new connections a `/health` probe waits behind
# them (variants.py). The uvloop rows keep measuring that reason, in every run, beside the variants;
# the rows without a turn budget (baseline/turn_budget.py) measure what it does for a saturated
# worker's `/health`, and what it costs, on each interpreter.
SUSTAINED_SETTINGS = {
    "cython LOOP=uvloop": ("cython", {"LOOP": "uvloop"}),
    "scoring LOOP=uvloop": ("scoring", {"LOOP": "uvloop"}),
    "scoring TURN_BUDGET_SECONDS=0": ("scoring", {"TURN_BUDGET_SECONDS": "0"}),
    "scoring-pypy TURN_BUDGET_SECONDS=0": ("scoring-pypy", {"TURN_BUDGET_SECONDS": "0"}),
}


@dataclass
class SoakRunOptions:
    variants: list[str] = field(default_factory=lambda: [v.name for v in ALL_VARIANTS])
    parts: list[str] = field(default_factory=lambda: list(PARTS))
    quick: bool = False
    output_dir: Path | None = None
    allow_busy: bool = False

    def is_reference(self) -> bool:
        complete = self.variants == [v.name for v in ALL_VARIANTS] and self.parts == list(PARTS)
        return complete and not self.quick and self.output_dir is None

    def sustained(self) -> SoakOptions:
        return SoakOptions(seconds=QUICK_SECONDS) if self.quick else SoakOptions()


def output_folder(options: SoakRunOptions) -> Path:
    if options.output_dir is not None:
        return options.output_dir
    if options.is_reference():
        return SOAK_DIR
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return SCRATCH_DIR / f"soak-{stamp}"


def run_sustained(options: SoakRunOptions, variant: Variant, say: Callable[[str], None]) -> Json:
    return measure_sustained(variant, options.sustained(), say)


def part_rows(
    part: str, options: SoakRunOptions, say: Callable[[str], None]
) -> list[tuple[str, Callable[[], Json]]]:
    """A part's rows, each with what measures it: every variant, then, in the sustained part, the
    rows of SUSTAINED_SETTINGS whose variant this run measures."""

    def variant_row(name: str) -> Callable[[], Json]:
        return lambda: PART_RUNNERS[part](options, get_variant(name), say)

    def settings_row(name: str, settings: dict[str, str]) -> Callable[[], Json]:
        return lambda: measure_sustained(get_variant(name), options.sustained(), say, settings)

    rows = [(name, variant_row(name)) for name in options.variants]
    if part == "sustained":
        rows += [
            (row, settings_row(name, settings))
            for row, (name, settings) in SUSTAINED_SETTINGS.items()
            if name in options.variants
        ]
    return rows


def outcome_of(result: Json) -> Json:
    """A fault measurement's dict, its own status kept as "outcome" (the entry's status is the
    run's); a failed one raises, so the run records it as failed with its reason."""
    outcome = result.pop("status", None)
    if outcome == "failed":
        raise RuntimeError(result.get("reason") or "failed without a reason")
    return {**result, "outcome": outcome}


def run_killed_worker(
    options: SoakRunOptions, variant: Variant, say: Callable[[str], None]
) -> Json:
    from benchmarks.reliability_faults import measure_killed_worker

    return outcome_of(measure_killed_worker(variant, say=say))


def run_shutdown(options: SoakRunOptions, variant: Variant, say: Callable[[str], None]) -> Json:
    from benchmarks.reliability_faults import measure_graceful_shutdown

    return outcome_of(measure_graceful_shutdown(variant, say=say))


def run_container_stop(
    options: SoakRunOptions, variant: Variant, say: Callable[[str], None]
) -> Json:
    from benchmarks.reliability_faults import measure_container_stop

    return outcome_of(measure_container_stop(variant, say=say))


def run_hostile(options: SoakRunOptions, variant: Variant, say: Callable[[str], None]) -> Json:
    from benchmarks.reliability_clients import measure_hostile_clients

    seconds = QUICK_SECONDS if options.quick else 8.0
    return measure_hostile_clients(variant, seconds=seconds, say=say)


PART_RUNNERS: dict[str, Callable[[SoakRunOptions, Variant, Callable[[str], None]], Json]] = {
    "sustained": run_sustained,
    "killed-worker": run_killed_worker,
    "shutdown": run_shutdown,
    "container-stop": run_container_stop,
    "hostile": run_hostile,
}


def run_soak(options: SoakRunOptions, say: Callable[[str], None]) -> Path:
    """Every part for every variant, the file saved after each; its path."""
    if not options.allow_busy:
        refuse_busy_cpus(set(os.sched_getaffinity(0)))
    folder = output_folder(options)
    path = folder / "latest.json"
    started = time.monotonic()
    results: Json = {"schema": SCHEMA, "started_at": _now(), "quick": options.quick, "parts": {}}
    results["environment"] = {"machine": machine(), "pinning": {"note": PINNING_NOTE}}

    def save() -> None:
        results["finished_at"] = _now()
        results["duration_seconds"] = round(time.monotonic() - started, 1)
        save_results(results, path)

    for part in options.parts:
        entries = results["parts"][part] = {}
        for row, measure in part_rows(part, options, say):
            entry: Json = {"status": "pending"}
            entries[row] = entry
            with recorded_outcome(entry, row, save, say, part=f"soak {part}"):
                entry.update(measure())
    save()
    write_memory_plot(results, folder / "memory.png")
    return path


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, into scratch/")
    parser.add_argument("--parts", help=f"comma-separated, some of {', '.join(PARTS)}")
    parser.add_argument("--variants", help="comma-separated variant names (default: all)")
    parser.add_argument("--out", type=Path, help="write here (default: see above)")
    parser.add_argument("--allow-busy", action="store_true", help="measure on busy cores anyway")
    args = parser.parse_args(argv)
    known = [v.name for v in ALL_VARIANTS]
    variants = args.variants.split(",") if args.variants else known
    parts = args.parts.split(",") if args.parts else list(PARTS)
    for chosen, allowed, what in ((variants, known, "variant"), (parts, list(PARTS), "part")):
        unknown = [item for item in chosen if item not in allowed]
        if unknown:
            parser.error(
                f"unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(allowed)}"
            )
    options = SoakRunOptions(variants, parts, args.quick, args.out, args.allow_busy)
    path = run_soak(options, print)
    print(f"results: {path}")
    if not options.is_reference():
        print("the reference in benchmarks/results/soak/ is unchanged (a quick or partial run)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
