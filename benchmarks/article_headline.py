"""The article's headline test (benchmarks/article_claims.py) measured here: GET /fib/35 under 100
connections, each of the four variants served by uvicorn workers on this machine.

Per variant: the server started with one worker per CPU this process may use, its answers verified
(a wrong server is not measured), a warm-up at a cheap n (PyPy's JIT needs tens of seconds), the
server-reported compute time of fib(n) probed, then one wrk run at the article's 100 connections,
sampled for CPU and memory per worker. Server and wrk share every CPU, as in benchmarks/cores.py:
a 2-core machine has nowhere else to put the load generator, and the section's note says so.

The wrk run is sized from the probed compute time, not the article's fixed 30 s: at fib(35) the
slowest variant answers about one request a second, so a run long enough for `min_requests`
answers there is needed for a number at all, and a run that long at the fastest variant would
waste minutes. A closed loop of 100 connections queues 100 requests at the server, so each waits
about 100 / rps: the timeout is set well above that, so a slow variant is measured, not timed out.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from baseline.fib_settings import DEFAULT_FIB_MAX_N, FIB_MAX_N_LIMIT
from benchmarks import sampling
from benchmarks.article_claims import ARTICLE_SETTINGS, ARTICLE_TITLE
from benchmarks.planning import refuse_busy_cpus
from benchmarks.records import recorded_outcome
from benchmarks.results import Json
from benchmarks.sweep import probe_compute_times
from benchmarks.target import Target, served_target
from benchmarks.warmup import warm_up, warmup_plan
from benchmarks.wrk import WrkPlan, run_wrk
from contract_check import failure_summary, fetch, verify
from variants import INTERPRETERS, Variant, get_variant, variant_names

# Each run waits for this many times its expected count of answers, plus one computation (nothing
# is answered before the first one ends): a loaded machine computes a little slower than the
# idle probe said, and a run that falls short of min_requests is no figure.
REQUESTS_HEADROOM = 1.2
# A closed loop queues every connection at the server: a request waits about connections / rps.
# wrk counts an answer slower than --timeout as a timeout and leaves it out of the latencies
# (response_complete in https://github.com/wg/wrk/blob/master/src/wrk.c), so it sits well above.
TIMEOUT_MARGIN = 3
MIN_TIMEOUT_SECONDS = 5


@dataclass
class HeadlineOptions:
    """How the headline test runs here (the article's n and connections; the rest fits 2 cores).

    The defaults keep all four variants under about 6 minutes on 2 cores: CPython computes
    fib(35) in 1-2 s server-side, so its run takes about 30 s for 30 answers; the others reach
    them within min_seconds.
    """

    n: int = ARTICLE_SETTINGS.n
    connections: int = ARTICLE_SETTINGS.connections
    wrk_threads: int = 2  # one per core of a 2-core machine; the article's 4 would take turns
    min_requests: int = 30
    min_seconds: float = 10.0
    max_seconds: float = 45.0
    warmup_n: int = (
        20  # cheap: the warm-up trains the JIT on the same function, many times a second
    )
    warmup_connections: int = 16
    warmup_max_seconds: dict[str, float] = field(default_factory=lambda: {"cpython": 6, "pypy": 30})
    variants: list[str] = field(default_factory=variant_names)
    allow_busy: bool = False

    def __post_init__(self) -> None:
        check_options(self)

    @classmethod
    def quick(cls, **overrides: object) -> HeadlineOptions:
        """A smoke run of the whole path in seconds per variant: its numbers are not for reading."""
        settings: dict[str, object] = {
            "n": 25,
            "min_requests": 10,
            "min_seconds": 1.0,
            "max_seconds": 3.0,
            "warmup_n": 10,
            "warmup_max_seconds": {"cpython": 1, "pypy": 2},
        }
        return cls(**{**settings, **overrides})  # type: ignore[arg-type]

    @property
    def fib_max_n(self) -> int:
        """The servers' FIB_MAX_N: the project's default (35) or n, if larger."""
        return max(DEFAULT_FIB_MAX_N, self.n, self.warmup_n)


def check_options(options: HeadlineOptions) -> None:
    """Refuse settings that cannot measure anything, saying which and why."""
    problems = []
    if not 0 <= options.n <= FIB_MAX_N_LIMIT:
        problems.append(f"n must be from 0 to {FIB_MAX_N_LIMIT}, not {options.n}")
    if not 1 <= options.wrk_threads <= options.connections:
        problems.append(
            f"wrk needs 1 to {options.connections} threads (one connection each at least), "
            f"not {options.wrk_threads}"
        )
    if options.min_requests < 1:
        problems.append(f"min_requests must be at least 1, not {options.min_requests}")
    if not 0 < options.min_seconds <= options.max_seconds:
        problems.append(
            f"need 0 < min_seconds <= max_seconds, not {options.min_seconds} and "
            f"{options.max_seconds}"
        )
    if set(options.warmup_max_seconds) != set(INTERPRETERS):
        problems.append(f"warmup_max_seconds needs a limit for each of {sorted(INTERPRETERS)}")
    unknown = [name for name in options.variants if name not in variant_names()]
    if unknown or not options.variants:
        problems.append(f"variants must be some of {variant_names()}, not {options.variants}")
    if problems:
        raise ValueError("HeadlineOptions: " + "; ".join(problems))


def measure_headline(
    options: HeadlineOptions,
    say: Callable[[str], None],
    save: Callable[[], None],
    section: dict,
) -> None:
    """Fill `section` with the headline test of each of options.variants, calling save() after
    each one; a variant that fails is recorded with its reason and the others still run."""
    cpus = sorted(os.sched_getaffinity(0))
    if not options.allow_busy:
        refuse_busy_cpus(set(cpus), allow="allow a busy machine (allow_busy)")
    section.update(headline_section(options, cpus))
    save()
    for name in options.variants:
        row = headline_row(get_variant(name))
        section["rows"].append(row)
        with recorded_outcome(row, name, save, say, part="article headline"):
            measure_variant(options, cpus, row, say, save)


def headline_section(options: HeadlineOptions, cpus: list[int]) -> Json:
    """The section as it starts: how every variant is measured, and how that differs from the
    article's test; no row yet."""
    return {
        "compared_with": ARTICLE_TITLE,
        "path": f"/fib/{options.n}",
        "n": options.n,
        "connections": options.connections,
        "wrk_threads": options.wrk_threads,
        "workers": len(cpus),
        "cpus": cpus,
        "fib_max_n": options.fib_max_n,
        "new_connection_per_request": True,
        "min_requests": options.min_requests,
        "min_seconds": options.min_seconds,
        "max_seconds": options.max_seconds,
        "warmup": {
            "n": options.warmup_n,
            "connections": options.warmup_connections,
            "max_seconds": dict(options.warmup_max_seconds),
        },
        "note": setup_note(options, cpus),
        "rows": [],
    }


def setup_note(options: HeadlineOptions, cpus: list[int]) -> str:
    article = ARTICLE_SETTINGS
    shown = ",".join(map(str, cpus))
    workers = len(cpus)
    return (
        f"{workers} uvicorn worker{'s' if workers != 1 else ''}, one per CPU this process may use "
        f"(CPU {shown}), where the article used {article.workers}; server and wrk share "
        f"those CPUs, as this machine has no others for the load generator. wrk with "
        f"{options.wrk_threads} threads (one per core; the article used {article.wrk_threads}) "
        f"and {options.connections} connections, every request on a new connection (Connection: "
        "close) so that every worker gets requests: connections opened at once can all land on "
        f"one worker. One run per variant, long enough for {options.min_requests} answers at the "
        f"rate its probed compute time allows ({options.min_seconds:g} to "
        f"{options.max_seconds:g} s), not the article's {article.duration_seconds} s."
    )


def headline_row(variant: Variant) -> Json:
    """A variant's row as it starts: pending, nothing measured yet."""
    return {
        "variant": variant.name,
        "display_name": variant.display_name,
        "interpreter": variant.interpreter,
        "status": "pending",
        "error": None,
        "runtime": None,
        "implementation": None,
        "verification": None,
        "warmup": None,
        "compute_seconds": None,  # the median of the probes
        "compute_seconds_probes": [],
        "duration_seconds": None,
        "timeout_seconds": None,
        "wrk": None,  # wrk's result with the server's CPU and memory per worker (sampling.py)
        "enough_requests": None,
    }


def measure_variant(
    options: HeadlineOptions,
    cpus: list[int],
    row: Json,
    say: Callable[[str], None],
    save: Callable[[], None],
) -> None:
    """One variant: served, verified, warmed up, its compute time probed, then the wrk run."""
    variant = get_variant(row["variant"])
    name, workers = variant.name, len(cpus)
    say(f"{name}: starting {workers} workers on CPU {','.join(map(str, cpus))}")
    with served_target(
        variant, workers=workers, fib_max_n=options.fib_max_n, cpus=set(cpus)
    ) as target:
        verify_answers(target, options, row)
        save()
        limit = options.warmup_max_seconds[variant.interpreter]
        say(f"{name}: warming up at n={options.warmup_n} (up to {limit:g} s)")
        row["warmup"] = warm_up_target(target, options, set(cpus))
        probes = [ms / 1000 for ms in probe_compute_times(target, options.n)]
        row["compute_seconds_probes"] = probes
        row["compute_seconds"] = statistics.median(probes)
        plan = headline_plan(options, f"{target.base_url}/fib/{options.n}", probes, workers)
        row["duration_seconds"], row["timeout_seconds"] = (
            plan.duration_seconds,
            plan.timeout_seconds,
        )
        say(
            f"{name}: fib({options.n}) computes in {row['compute_seconds']:.3g} s; wrk "
            f"c={plan.connections} t={plan.threads} for {plan.duration_seconds} s"
        )
        row["wrk"] = sampled_wrk(target, plan, set(cpus))
        row["enough_requests"] = row["wrk"]["requests"] >= options.min_requests


def verify_answers(target: Target, options: HeadlineOptions, row: Json) -> None:
    """The contract first (as benchmarks/sweep.py verify_contract): a wrong server is not
    measured, its row says why."""
    row["verification"] = verification = verify(target.base_url, options.fib_max_n)
    if not verification["passed"]:
        raise RuntimeError(failure_summary(verification))
    health = fetch(target.base_url, "/health").body
    row["runtime"], row["implementation"] = health["runtime"], health["implementation"]


def warm_up_target(target: Target, options: HeadlineOptions, cpus: set[int]) -> Json:
    """1-second wrk runs at the cheap warmup_n until requests/s stops rising or the
    interpreter's limit passes (benchmarks/warmup.py)."""
    started = time.monotonic()
    limit = options.warmup_max_seconds[target.variant.interpreter]
    plan = warmup_plan(f"{target.base_url}/fib/{options.warmup_n}", options.warmup_connections)
    return warm_up(plan, options.warmup_n, limit, cpus, started)


def headline_plan(
    options: HeadlineOptions, url: str, compute_seconds: list[float], cpus: int
) -> WrkPlan:
    """The wrk run: `options.connections` at `url`, long enough for min_requests answers at the
    most the CPUs can compute (one request per CPU at a time), capped by max_seconds; the timeout
    well above the queueing time a closed loop of that many connections builds up."""
    compute = statistics.median(compute_seconds)
    seconds_per_answer = compute / cpus  # at best: every CPU computing one request at a time
    wanted = options.min_requests * seconds_per_answer * REQUESTS_HEADROOM + compute
    duration = whole_seconds(min(options.max_seconds, max(options.min_seconds, wanted)))
    queueing = options.connections * seconds_per_answer
    timeout = whole_seconds(max(MIN_TIMEOUT_SECONDS, TIMEOUT_MARGIN * queueing))
    return WrkPlan(
        url,
        options.connections,
        duration,
        timeout,
        threads=options.wrk_threads,
        # a new connection per request spreads the load over the workers (benchmarks/cores.py)
        new_connection_per_request=True,
    )


def whole_seconds(seconds: float) -> int:
    """Seconds rounded up, as wrk takes them (26.6 → 27; 210.00000000000003, float noise, → 210)."""
    return math.ceil(round(seconds, 6))


def sampled_wrk(target: Target, plan: WrkPlan, cpus: set[int]) -> Json:
    """One wrk run with the server's CPU and each worker's memory sampled (as runner.sampled_run
    does). The backlog is not drained: the server is stopped right after, nothing else is
    measured on it."""
    with sampling.sampled(target.processes, target.workers, len(cpus)) as sample:
        outcome = run_wrk(plan, cpus)
    outcome.update(
        server_cpu_cores=sample.server_cpu_cores,
        load_generator_cpu=sample.load_generator_cpu,
        **sample.memory(),
    )
    return outcome
