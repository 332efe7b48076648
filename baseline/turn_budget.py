"""A time budget for each turn of the event loop, so that a saturated worker keeps answering
`/health` in time (TURN_BUDGET_SECONDS, read by both services).

In each turn a worker's event loop runs every callback that was ready when the turn began: among
them the task of every connection whose request has arrived. A request computed inline (a cheap
`/fib/{n}`, every POST /score) runs to its end without yielding, so under hundreds of connections
one turn holds hundreds of requests, and a `/health` request waits for two or three such turns
(its connection accepted, its request read, its task run). With PyPy and pydantic a request takes
over a millisecond, so at 512 connections those turns added up to more than a second (make soak).
With a budget, requests start in a turn only until `seconds` have passed since its first one
started; the others yield (one `asyncio.sleep(0)` each, about a microsecond) and keep their order
for the next turn. A turn then lasts about `seconds` whatever the number of connections, and
`/health`, which does not wait for the budget, is answered within a few turns. A turn of fewer
requests than fit in `seconds` (the benchmark's 16 connections) never waits.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable


class TurnBudget:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter) -> None:
        """`seconds` of requests per turn; 0: no budget, every request starts at once."""
        if not seconds >= 0:
            raise ValueError(f"seconds must be 0 or more, got {seconds}")
        self.seconds = seconds
        self.clock = clock
        self.turn_started = 0.0  # when the current turn's first request started
        self.in_turn = False

    async def wait_for_turn(self) -> None:
        """Return once this request may start: at once while the turn's time lasts, or in a later
        turn, after the requests that were waiting before it."""
        while not self.may_start():
            await asyncio.sleep(0)

    def may_start(self) -> bool:
        if not self.seconds:
            return True
        now = self.clock()
        if not self.in_turn:
            # Called from inside a turn, call_soon runs at the start of the next one (a turn runs
            # only the callbacks that were ready when it began), before the requests that yield.
            asyncio.get_running_loop().call_soon(self.end_turn)
            self.in_turn, self.turn_started = True, now
        return now - self.turn_started < self.seconds

    def end_turn(self) -> None:
        self.in_turn = False
