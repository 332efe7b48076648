"""The tutorial's FastAPI app. The contract lives here once, in `create_app`; every variant calls it
with its own hot path. This file's hot path is the deliberately naive recursive Fibonacci in Python.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Callable

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel

from baseline.fib_cost import CostModel
from baseline.fib_settings import (
    available_cores,
    is_whole_number,
    parse_whole_number,
    read_budget_seconds,
    read_fib_max_n,
    read_inline_seconds,
    read_turn_budget_seconds,
    shorten,
)
from baseline.runtime import runtime_description
from baseline.turn_budget import TurnBudget

FibFunction = Callable[[int], int]

IMPLEMENTATION = "python-recursive"  # what /health and /fib report as this file's hot path
RELEASES_GIL = False  # Python code holds the GIL: one computation at a time per process


class FibResponse(BaseModel):
    n: int
    result: int
    compute_time_seconds: float
    runtime: str
    implementation: str


class HealthResponse(BaseModel):
    status: str
    runtime: str
    implementation: str


class ErrorResponse(BaseModel):
    detail: str


def fib_recursive(n: int) -> int:
    """The n-th Fibonacci number by naive recursion: exponential on purpose, it is the hot path."""
    if n < 2:
        return n
    return fib_recursive(n - 1) + fib_recursive(n - 2)


def parse_n(raw: str, fib_max_n: int) -> int:
    """The path's n as an int in 0..fib_max_n: 422 if it is not an integer (ASCII digits with an
    optional sign), 400 if its value is out of range. The value decides, not the spelling: 0005
    and +5 are 5, -0 is 0, and a run of thousands of zeros before a digit is that digit."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 2 and int(raw) <= fib_max_n:
        return int(raw)  # the common case, "0" to "92", without the general parser's work
    allowed = f"n must be an integer from 0 to {fib_max_n} (FIB_MAX_N)"
    if not is_whole_number(raw):
        raise HTTPException(422, f"{allowed}; got {shorten(raw)!r}, which is not an integer")
    value = parse_whole_number(raw, 0, fib_max_n)
    if value is None:
        raise HTTPException(400, f"{allowed}; got {shorten(raw)}")
    return value


def check_budget(cost: CostModel, n: int, budget_seconds: float, fib_max_n: int) -> None:
    """400 if fib(n) would take longer than the budget even at the fastest cost seen here."""
    estimate = cost.estimate_seconds(n)
    if estimate > budget_seconds:
        fits = cost.largest_n_within(budget_seconds, fib_max_n)
        raise HTTPException(
            400,
            f"fib({n}) would take about {estimate:.3g} s here, over the budget of "
            f"{budget_seconds:g} s per request (FIB_BUDGET_SECONDS); n up to {fits} fits",
        )


def _timed(fib: FibFunction, n: int) -> tuple[int, float]:
    start = time.perf_counter()
    result = fib(n)
    return result, time.perf_counter() - start


async def compute_fib(
    fib: FibFunction,
    n: int,
    cost: CostModel,
    inline_seconds: float,
    limiter: anyio.CapacityLimiter,
) -> tuple[int, float]:
    """fib(n) and its time: right here on the event loop when its estimate is within
    `inline_seconds` (a thread hand-off would cost more), else in a worker thread under `limiter`,
    so the loop stays free for /health. Every time measured refines the cost model."""
    if cost.estimate_seconds(n) <= inline_seconds:
        result, seconds = _timed(fib, n)
    else:
        result, seconds = await anyio.to_thread.run_sync(_timed, fib, n, limiter=limiter)
    cost.observe(n, seconds)
    return result, seconds


def create_app(
    fib: FibFunction,
    implementation: str,
    *,
    releases_gil: bool = False,
    fib_max_n: int | None = None,
    budget_seconds: float | None = None,
    inline_seconds: float | None = None,
    turn_budget_seconds: float | None = None,
) -> FastAPI:
    """The app with the shared contract around `fib`.

    Where `fib(n)` runs depends on its expected time, from the cost model this worker measured
    (baseline/fib_cost.py). A cheap one (at most FIB_INLINE_SECONDS, 1 ms by default) runs right
    in the handler: handing it to a thread would cost more than computing it. Code that computes
    on several cores at once (the GIL released) hands off sooner, at the limit divided by its
    compute slots: in a thread, its computation runs beside the event loop's work, not after it.
    An expensive one runs in a worker thread so the event loop stays free for /health, and at most
    `compute_slots` of those run at once per process: one for code that holds the GIL (more
    threads would only fight over it and starve the event loop), one per core for code that
    releases it. Requests beyond that wait on the event loop without holding a thread. A request
    whose computation would exceed the budget (FIB_BUDGET_SECONDS) is refused before it starts:
    a running computation cannot be cancelled, so it must never be one that runs for hours.
    Under more requests than a turn of the event loop should hold (TURN_BUDGET_SECONDS), the rest
    wait for the next turn (baseline/turn_budget.py), so /health is answered within a few turns.
    """
    max_n = read_fib_max_n() if fib_max_n is None else fib_max_n
    budget = read_budget_seconds() if budget_seconds is None else budget_seconds
    runtime = runtime_description()
    compute_slots = available_cores() if releases_gil else 1
    inline = read_inline_seconds() if inline_seconds is None else inline_seconds
    inline /= compute_slots
    if turn_budget_seconds is None:
        turn_budget_seconds = read_turn_budget_seconds()
    turn_budget = TurnBudget(turn_budget_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.compute_limiter = anyio.CapacityLimiter(compute_slots)
        app.state.inline_seconds = inline
        app.state.cost = CostModel.calibrate(fib)  # in each worker, before it serves
        yield

    app = FastAPI(
        title=f"Fibonacci ({implementation})",
        description=f"Recursive Fibonacci as a CPU-bound hot path, on {runtime}.",
        lifespan=lifespan,
    )

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return HealthResponse(status="healthy", runtime=runtime, implementation=implementation)

    refused = {"model": ErrorResponse}
    n_schema = {"type": "integer", "minimum": 0, "maximum": max_n}

    @app.get(
        "/fib/{n}",
        response_model=FibResponse,
        responses={
            400: {**refused, "description": "n out of range, or over the time budget"},
            422: {**refused, "description": "n is not an integer"},
        },
    )
    async def fibonacci(
        # The schema says what the contract accepts; the handler parses the text itself, so
        # every variant gives the same 400 and 422 bodies whatever its FastAPI version.
        n: str = Path(json_schema_extra=n_schema, description="an integer from 0 to FIB_MAX_N"),
    ) -> FibResponse:
        await turn_budget.wait_for_turn()
        value = parse_n(n, max_n)
        cost: CostModel = app.state.cost
        check_budget(cost, value, budget, max_n)
        result, seconds = await compute_fib(fib, value, cost, inline, app.state.compute_limiter)
        return FibResponse(
            n=value,
            result=result,
            compute_time_seconds=seconds,
            runtime=runtime,
            implementation=implementation,
        )

    return app


app = create_app(fib_recursive, implementation=IMPLEMENTATION, releases_gil=RELEASES_GIL)
