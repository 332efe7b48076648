"""The warm-up curve: when to stop warming up, and where the plateau began.

The harness measures requests/s in 1-second wrk runs and stamps each point with the seconds of
warm-up load so far (time.monotonic() at the end of the run, from the start of the warm-up, which
follows the health wait and the contract check). Two questions are asked of that curve:

- **Stop?** `plateau_reached`: the mean of the last WINDOW points is no more than TOLERANCE above
  the mean of the WINDOW before them. Comparing means needs 2 × WINDOW points, so this rule alone
  can never say less than six seconds: it decides when to stop, not when the plateau began.
- **Since when?** `plateau_start_index`: once the rule has fired, the plateau level is the lowest
  of the last WINDOW points (the seconds the rule found flat), and the plateau begins at the
  earliest point from which requests/s never again falls more than POINT_TOLERANCE below that
  level. A flat curve's plateau begins at its first point; a rising-then-flat curve's at its first
  flat point. Only falls count: warming up is a rise, so a curve that starts high and sags (a noisy
  neighbour, a GC) has nothing to wait for. The level is the window's lowest point, so the plateau
  never begins after the window the rule saw.

A point's timestamp is the end of its 1-second run, so the plateau start is "warm by then", to
the resolution of one run. `warm_up` runs that loop for the variants, the ladder's rungs and the
whole-machine runs alike.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

from benchmarks.wrk import WrkPlan, run_wrk

WINDOW = 3
TOLERANCE = 0.03  # on the means of WINDOW points
# Single one-second points are noisier than the means of three: √3 × 3% ≈ 5%.
POINT_TOLERANCE = 0.05
RUN_SECONDS = 1  # one point of the curve
RUN_TIMEOUT_SECONDS = 10


def plateau_reached(curve: list[float], window: int = WINDOW, tolerance: float = TOLERANCE) -> bool:
    """Requests/s stopped rising: the last `window` points are within `tolerance` of the
    `window` before them (at least 2 × window points of data)."""
    if len(curve) < 2 * window:
        return False
    recent = statistics.fmean(curve[-window:])
    before = statistics.fmean(curve[-2 * window : -window])
    return recent <= before * (1 + tolerance)


def plateau_start_index(
    curve: list[float], window: int = WINDOW, tolerance: float = POINT_TOLERANCE
) -> int | None:
    """The index of the plateau's first point (see the module docstring); None without one."""
    if not plateau_reached(curve, window):
        return None
    floor = min(curve[-window:]) * (1 - tolerance)
    start = len(curve)
    while start > 0 and curve[start - 1] >= floor:
        start -= 1
    return start


def warmup_record(
    n: int | None, connections: int, seconds: list[float], requests_per_second: list[float]
) -> dict[str, Any]:
    """The warm-up entry of a variant in the results file (see benchmarks/results.py)."""
    start = plateau_start_index(requests_per_second)
    return {
        "n": n,
        "connections": connections,
        "seconds": seconds,
        "requests_per_second": requests_per_second,
        "plateau_reached": plateau_reached(requests_per_second),
        "plateau_start_seconds": None if start is None else seconds[start],
    }


def warmup_plan(url: str, connections: int) -> WrkPlan:
    """A GET of `url` over `connections` connections, as one point of a warm-up curve."""
    return WrkPlan(url, connections, RUN_SECONDS, RUN_TIMEOUT_SECONDS)


def warm_up(
    plan: WrkPlan,
    n: int | None,
    limit_seconds: float,
    load_cpus: set[int],
    started: float | None = None,
) -> dict[str, Any]:
    """1-second runs of `plan`'s load (GET /fib/`n`, or the case study's POST /score with n None)
    until requests/s stops rising or `limit_seconds` have passed since `started`
    (time.monotonic(); default now); the warm-up record of the curve.

    A point's seconds are rounded to 10 ms: a 1-second run says nothing finer about when the
    server was warm."""
    point = replace(plan, duration_seconds=RUN_SECONDS, timeout_seconds=RUN_TIMEOUT_SECONDS)
    started = time.monotonic() if started is None else started
    seconds: list[float] = []
    curve: list[float] = []
    while time.monotonic() - started < limit_seconds:
        curve.append(run_wrk(point, load_cpus)["requests_per_second"])
        seconds.append(round(time.monotonic() - started, 2))  # when this 1-second run ended
        if plateau_reached(curve):
            break
    return warmup_record(n, plan.connections, seconds, curve)
