"""The ladder's plan: which stacks (an interpreter with an event loop and an HTTP parser) and which
rungs each one gets, from the bare ASGI app to our app with every computation offloaded. Pure data
from variants.py: planning.py estimates a run's length from it, ladder.py measures it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from variants import VARIANTS, Variant

LADDER_PATH = "/fib/0"
LADDER_CONNECTIONS = 16
WRK_TIMEOUT_SECONDS = 10
FRAMEWORK_RUNGS = (  # key, label, uvicorn app
    ("asgi", "bare ASGI app", "benchmarks.ladder_apps:bare_asgi"),
    ("starlette", "Starlette route", "benchmarks.ladder_apps:starlette_app"),
    ("fastapi", "FastAPI route, same response model", "benchmarks.ladder_apps:fastapi_app"),
)
# Stacks measured beside each interpreter's own: (loop, http).
# uvloop on CPython: faster per turn, but it accepts one connection per turn (variants.py).
OTHER_STACKS = {"cpython": (("uvloop", "httptools"),), "pypy": (("asyncio", "h11"),)}
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


def ladder_stacks(variant_names: list[str], other_stacks: bool = True) -> list[Stack]:
    """The interpreters of the measured variants, each with its chosen stack and (unless
    `other_stacks` is false) the others measured beside it."""
    stacks: list[Stack] = []
    for variant in VARIANTS:
        if variant.name not in variant_names:
            continue
        if any(stack.interpreter == variant.interpreter for stack in stacks):
            continue
        stacks.append(Stack(variant.interpreter, variant.loop, variant.http, chosen=True))
        for loop, http in OTHER_STACKS.get(variant.interpreter, ()) if other_stacks else ():
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
