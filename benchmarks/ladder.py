"""The ladder: where a cheap request's time goes, per interpreter and HTTP stack.

For each stack (an interpreter with an event loop and an HTTP parser), one server per rung runs on
the server's pinned core, all at once, and wrk measures GET /fib/0 on each, the rungs interleaved
repeat by repeat, so their ratios come from the same minutes:

    bare ASGI app -> Starlette route -> FastAPI route (our response model) -> each variant at n=0
    -> the first variant with every computation handed to a worker thread (FIB_INLINE_SECONDS=0)

Each step adds one layer (server, framework, validation, our contract, the thread hand-off), so a
rung's requests/s against the one before it is that layer's cost. Stacks: each interpreter's own
(the variants table's) and, for PyPy, h11 beside its chosen httptools: the choice is measured
here, in every full run.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from benchmarks.servers import start_server, stop_server, wait_until_healthy
from benchmarks.verify import check_fib
from benchmarks.warmup import plateau_reached, warmup_record
from benchmarks.wrk import WrkPlan, run_wrk
from variants import VARIANTS, Variant

if TYPE_CHECKING:
    from benchmarks.runner import Run, Target

LADDER_PATH = "/fib/0"
LADDER_CONNECTIONS = 16
FRAMEWORK_RUNGS = (  # key, label, uvicorn app
    ("asgi", "bare ASGI app", "benchmarks.ladder_apps:bare_asgi"),
    ("starlette", "Starlette route", "benchmarks.ladder_apps:starlette_app"),
    ("fastapi", "FastAPI route, same response model", "benchmarks.ladder_apps:fastapi_app"),
)
# Stacks measured beside each interpreter's own: (loop, http).
OTHER_STACKS = {"pypy": (("asyncio", "h11"),)}
OFFLOADED = (("FIB_INLINE_SECONDS", "0"),)


@dataclass(frozen=True)
class Rung:
    key: str  # "asgi", "starlette", "fastapi", "variant:NAME", "offloaded:NAME"
    label: str
    server: Variant  # what uvicorn serves, and how
    variant: str | None = None  # the variant a contract rung measures


@dataclass(frozen=True)
class Stack:
    interpreter: str
    loop: str
    http: str
    chosen: bool  # the variants table's stack for this interpreter

    @property
    def name(self) -> str:
        return f"{self.interpreter} {self.loop}+{self.http}"


def ladder_stacks(variant_names: list[str]) -> list[Stack]:
    """The interpreters of the measured variants, each with its chosen stack and the others."""
    stacks: list[Stack] = []
    for variant in VARIANTS:
        if variant.name not in variant_names:
            continue
        if any(stack.interpreter == variant.interpreter for stack in stacks):
            continue
        stacks.append(Stack(variant.interpreter, variant.loop, variant.http, chosen=True))
        for loop, http in OTHER_STACKS.get(variant.interpreter, ()):
            stacks.append(Stack(variant.interpreter, loop, http, chosen=False))
    return stacks


def ladder_rungs(stack: Stack, variant_names: list[str]) -> list[Rung]:
    """The stack's rungs, from the bare server to our app with every computation offloaded."""
    mine = [v for v in VARIANTS if v.interpreter == stack.interpreter and v.name in variant_names]
    on_stack = [replace(v, loop=stack.loop, http=stack.http) for v in mine]
    rungs = [
        Rung(key, label, replace(on_stack[0], name=f"{stack.interpreter}-{key}", app=app))
        for key, label, app in FRAMEWORK_RUNGS
    ]
    rungs += [Rung(f"variant:{v.name}", v.display_name, v, v.name) for v in on_stack]
    first = on_stack[0]
    offloaded = replace(first, environment=first.environment + OFFLOADED)
    label = f"{first.display_name}, every computation in a worker thread"
    rungs.append(Rung(f"offloaded:{first.name}", label, offloaded, first.name))
    return rungs


def measure_ladder(run: Run) -> None:
    """Every stack's ladder into run.results["ladder"], saved after each stack."""
    options = run.options
    run.results["ladder"] = ladder = {
        "path": LADDER_PATH,
        "connections": LADDER_CONNECTIONS,
        "duration_seconds": options.ladder_seconds,
        "repeats": options.ladder_repeats,
        "stacks": [],
    }
    for stack in ladder_stacks(options.variants):
        entry = {
            "interpreter": stack.interpreter,
            "loop": stack.loop,
            "http": stack.http,
            "chosen": stack.chosen,
            "status": "pending",
            "error": None,
            "rungs": [],
        }
        ladder["stacks"].append(entry)
        try:
            measure_stack(run, stack, entry)
            entry["status"] = "measured"
        except KeyboardInterrupt:
            entry["status"], entry["error"] = "interrupted", "interrupted before it finished"
            run.save()
            raise
        except Exception as error:  # one stack failing must not lose the others
            entry["status"], entry["error"] = "failed", f"{stack.name}: {error}"
            run.progress.say(f"[red]ladder {stack.name} failed:[/red] {error}")
        run.save()


def measure_stack(run: Run, stack: Stack, entry: dict) -> None:
    """Start every rung's server, check and warm each, then the interleaved repeats."""
    from benchmarks.runner import Target

    options = run.options
    rungs = ladder_rungs(stack, options.variants)
    with ExitStack() as cleanup:
        targets = []
        run.progress.step(f"ladder {stack.name}: starting {len(rungs)} servers", 3)
        for rung in rungs:
            server = start_server(
                rung.server,
                workers=run.pinning["workers"],
                env={"FIB_MAX_N": str(options.fib_max_n)},
                cpus=run.server_cpus if run.pinning["pinned"] else None,
                direct=True,
            )
            cleanup.callback(stop_server, server)
            targets.append(Target(rung.server, server.base_url, server))
        for rung, target in zip(rungs, targets):
            wait_until_healthy(target.server, timeout=90)
            problem = check_fib(target.base_url, 0)
            if problem:
                raise RuntimeError(f"{rung.label} answers GET {LADDER_PATH} wrongly: {problem}")
        records = [_rung_record(rung) for rung in rungs]
        entry["rungs"] = records
        for rung, target, record in zip(rungs, targets, records):
            record["warmup"] = warm_up_rung(run, stack, rung, target)
        run.save()
        for index in range(options.ladder_repeats):
            for rung, target, record in zip(rungs, targets, records):
                run.progress.step(
                    f"ladder {stack.name}: {rung.key} ({index + 1}/{options.ladder_repeats})",
                    options.ladder_seconds + 0.5,
                )
                plan = WrkPlan(
                    target.base_url + LADDER_PATH, LADDER_CONNECTIONS, options.ladder_seconds, 10
                )
                record["repeats"].append(
                    run.sampled_run(target, lambda plan=plan: run_wrk(plan, run.load_cpus))
                )
        from benchmarks.results import summarize_repeats

        for record in records:
            record["summary"] = summarize_repeats(record["repeats"], None)


def _rung_record(rung: Rung) -> dict:
    return {
        "key": rung.key,
        "label": rung.label,
        "variant": rung.variant,
        "app": rung.server.app,
        "environment": dict(rung.server.environment),
        "warmup": None,
        "repeats": [],
        "summary": None,
    }


def warm_up_rung(run: Run, stack: Stack, rung: Rung, target: Target) -> dict:
    """1-second wrk runs at n=0 until requests/s stops rising, or the interpreter's warm-up limit
    (the variants' own)."""
    limit = run.options.warmup_max_seconds[stack.interpreter]
    run.progress.step(f"ladder {stack.name}: warming up {rung.key}", limit * 0.6)
    plan = WrkPlan(target.base_url + LADDER_PATH, LADDER_CONNECTIONS, 1, 10)
    started = time.monotonic()
    seconds: list[float] = []
    curve: list[float] = []
    while time.monotonic() - started < limit:
        curve.append(run_wrk(plan, run.load_cpus)["requests_per_second"])
        seconds.append(round(time.monotonic() - started, 2))
        if plateau_reached(curve):
            break
    return warmup_record(0, LADDER_CONNECTIONS, seconds, curve)
