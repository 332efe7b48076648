"""The case study (case-study/): each flavour of the fraud-scoring service measured the way the
Fibonacci variants are, one at a time on the server's CPUs with the load generator on its own:
the contract checked first (case-study/scoring_contract.py: the golden corpus over HTTP, the 4xx
answers), a warm-up until requests/s stops rising, options.scoring_repeats wrk runs of POST /score
with a different realistic body each request (wrk_scoring.lua), then options.scoring_locust_repeats
runs of the Locust scenario (locustfile_scoring.py). Everything goes into the results file's
"scoring" section, saved after every measurement; a flavour that fails is recorded with its reason
and the others go on.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.planning import START_STOP_SECONDS, expected_warmup_seconds
from benchmarks.records import recorded_outcome, scoring_entry, scoring_load, scoring_section
from benchmarks.results import Json, variant_memory
from benchmarks.sweep import run_locust_repeats, run_repeats
from benchmarks.target import Target, served_target
from benchmarks.warmup import warm_up
from benchmarks.wrk import WrkPlan
from contract_check import failure_summary
from fraud_scoring.generator import generate_requests
from processes import free_port, http_get
from scoring_contract import verify_scoring
from variants import get_variant

if TYPE_CHECKING:
    from benchmarks.stage import Run

SCORING_PATH = "/score"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_scoring.lua"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile_scoring.py"
BODIES = {"seed": 1, "count": 500, "history_length": 50}
WRK_TIMEOUT_SECONDS = 10


def measure_scoring(run: Run) -> None:
    """Every flavour in options.scoring_variants, into results["scoring"]."""
    options = run.options
    run.results["scoring"] = section = scoring_section(
        SCORING_PATH,
        options.scoring_connections,
        options.scoring_seconds,
        options.scoring_repeats,
        BODIES,
    )
    with tempfile.TemporaryDirectory(prefix="scoring-bodies-") as folder:
        bodies = write_bodies(Path(folder) / "bodies.jsonl")
        for name in options.scoring_variants:
            section["variants"][name] = entry = scoring_entry(get_variant(name))
            with recorded_outcome(entry, name, run.save, run.progress.say, part="scoring"):
                measure_flavour(run, name, bodies, entry)


def write_bodies(path: Path) -> Path:
    """The requests wrk sends, one compact JSON body a line, from the case study's generator."""
    requests = generate_requests(BODIES["seed"], BODIES["count"], BODIES["history_length"])
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in requests))
    return path


def measure_flavour(run: Run, name: str, bodies: Path, entry: Json) -> None:
    """One flavour: served, verified, warmed up, measured by wrk and Locust, stopped."""
    options = run.options
    variant = get_variant(name)
    run.progress.step(f"scoring: {name}: starting", START_STOP_SECONDS)
    with served_target(
        variant,
        workers=run.pinning["workers"],
        fib_max_n=options.fib_max_n,
        cpus=run.server_cpus_if_pinned(),
        port=free_port(),
    ) as target:
        verify_flavour(run, target, entry)
        plan = wrk_plan(target, options.scoring_connections, options.scoring_seconds, bodies)
        entry["warmup"] = warm_up_flavour(run, target, plan)
        run.save()
        repeats: list[Json] = []
        label = f"scoring: {name}: wrk POST /score c={plan.connections}"
        run_repeats(run, target, plan, label, run.load_cpus, repeats, count=options.scoring_repeats)
        entry["wrk"] = scoring_load("wrk", plan.connections, plan.duration_seconds, repeats)
        run.save()
        entry["locust"] = measure_locust(run, target)
        measured = [load for load in (entry["wrk"], entry["locust"]) if load]
        entry["memory"] = variant_memory(measured)


def verify_flavour(run: Run, target: Target, entry: Json) -> None:
    """The contract before any load: a flavour that answers wrongly is not measured."""
    run.progress.step(f"scoring: {target.variant.name}: verifying the contract", 0)
    entry["verification"] = verification = verify_scoring(target.base_url)
    run.save()
    if not verification["passed"]:
        raise RuntimeError(failure_summary(verification))
    health = http_get(f"{target.base_url}/health").json()
    entry["runtime"], entry["compiled"] = health["runtime"], health["compiled"]


def wrk_plan(target: Target, connections: int, seconds: float, bodies: Path) -> WrkPlan:
    url = f"{target.base_url}{SCORING_PATH}"
    return WrkPlan(
        url,
        connections,
        max(1, round(seconds)),
        WRK_TIMEOUT_SECONDS,
        script=WRK_SCRIPT,
        script_args=(str(bodies),),
    )


def warm_up_flavour(run: Run, target: Target, plan: WrkPlan) -> Json:
    """1-second runs of the measured load until requests/s stops rising (benchmarks/warmup.py)."""
    limit = run.options.scoring_warmup_max_seconds[target.variant.interpreter]
    run.progress.step(
        f"scoring: {target.variant.name}: warming up (up to {limit:.0f} s)",
        expected_warmup_seconds(limit, target.variant.interpreter),
    )
    return warm_up(plan, None, limit, run.load_cpus, time.monotonic())


def measure_locust(run: Run, target: Target) -> Json | None:
    """The case study's mixed scenario: options.scoring_locust_repeats fresh runs of
    options.scoring_locust_seconds each (0 skips it)."""
    options = run.options
    seconds = options.scoring_locust_seconds
    if seconds <= 0:
        return None
    label = f"scoring: {target.variant.name}: locust scenario"
    count = options.scoring_locust_repeats
    repeats = run_locust_repeats(run, target, label, seconds, count, locustfile=LOCUSTFILE)
    return scoring_load("locust", options.locust_users, seconds, repeats)
