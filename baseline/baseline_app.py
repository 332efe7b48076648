"""The tutorial's FastAPI app. The contract lives here once, in `create_app`; every variant calls it
with its own hot path. This file's hot path is the deliberately naive recursive Fibonacci in Python.
"""

from __future__ import annotations

import platform
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Callable

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from settings import available_cores, read_fib_max_n

FibFunction = Callable[[int], int]

_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would also take "٣", "1_0" and " 7 "
_ECHO_LIMIT = 40  # how much of a bad input an error message repeats


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


def runtime_description() -> str:
    """The running interpreter, e.g. 'CPython 3.11.7' or 'PyPy 7.3.11 (Python 3.9.16)'."""
    name = platform.python_implementation()
    if name == "PyPy":
        pypy = sys.pypy_version_info  # type: ignore[attr-defined]
        return f"PyPy {pypy.major}.{pypy.minor}.{pypy.micro} (Python {platform.python_version()})"
    return f"{name} {platform.python_version()}"


def parse_n(raw: str, fib_max_n: int) -> int:
    """The path's n as an int in 0..fib_max_n; 422 if it is not an integer, 400 if out of range."""
    allowed = f"n must be an integer from 0 to {fib_max_n} (FIB_MAX_N)"
    shown = raw if len(raw) <= _ECHO_LIMIT else raw[:_ECHO_LIMIT] + "..."
    if not _INTEGER.fullmatch(raw):
        raise HTTPException(422, f"{allowed}; got {shown!r}, which is not an integer")
    # Long digit strings are out of range by their length: int() of thousands of digits is slow
    # (and refused past 4300 digits on 3.11+).
    too_long = len(raw.lstrip("-").lstrip("0")) > len(str(fib_max_n))
    if too_long or not 0 <= int(raw) <= fib_max_n:
        raise HTTPException(400, f"{allowed}; got {shown}")
    return int(raw)


def _timed(fib: FibFunction, n: int) -> tuple[int, float]:
    start = time.perf_counter()
    result = fib(n)
    return result, time.perf_counter() - start


def create_app(
    fib: FibFunction,
    implementation: str,
    *,
    releases_gil: bool = False,
    fib_max_n: int | None = None,
) -> FastAPI:
    """The app with the shared contract around `fib`.

    `fib` runs in a worker thread so the event loop stays free for /health, and at most
    `compute_slots` computations run at once per process: one for code that holds the GIL (more
    threads would only fight over it and starve the event loop), one per core for code that
    releases it. Requests beyond that wait on the event loop without holding a thread.
    """
    max_n = read_fib_max_n() if fib_max_n is None else fib_max_n
    runtime = runtime_description()
    compute_slots = available_cores() if releases_gil else 1

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.compute_limiter = anyio.CapacityLimiter(compute_slots)
        yield

    app = FastAPI(
        title=f"Fibonacci ({implementation})",
        description=f"Recursive Fibonacci as a CPU-bound hot path, on {runtime}.",
        lifespan=lifespan,
    )
    app.state.fib_max_n = max_n
    app.state.compute_slots = compute_slots

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return HealthResponse(status="healthy", runtime=runtime, implementation=implementation)

    @app.get(
        "/fib/{n}",
        response_model=FibResponse,
        responses={400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    )
    async def fibonacci(n: str) -> FibResponse:
        value = parse_n(n, max_n)
        result, seconds = await anyio.to_thread.run_sync(
            _timed, fib, value, limiter=app.state.compute_limiter
        )
        return FibResponse(
            n=value,
            result=result,
            compute_time_seconds=seconds,
            runtime=runtime,
            implementation=implementation,
        )

    return app


app = create_app(fib_recursive, implementation="python-recursive")
