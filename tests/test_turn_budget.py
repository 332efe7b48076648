"""baseline/turn_budget.py's TurnBudget on a real asyncio loop, under CPython and PyPy: requests
start in their order, no more per turn than the budget's time allows, and a request that does not
wait for the budget (the services' `/health`) runs behind a few of them, not behind all; a budget
of 0 is none. Time is a fake clock that each started request moves on, so the turns are the same on
any machine."""

from __future__ import annotations

import asyncio

import pytest

from baseline.turn_budget import TurnBudget

# Whole seconds of a fake clock, so that sums are exact: five requests start per turn.
REQUEST_SECONDS = 1.0  # what each started request adds to the fake clock
BUDGET_SECONDS = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_requests(count: int, budget_seconds: float, health_after: int | None = None) -> dict:
    """`count` budgeted requests created at once (and a /health task created after the first
    `health_after` of them): the turn each started in, in the order they started."""
    clock = FakeClock()
    budget = TurnBudget(budget_seconds, clock)
    started: list[tuple[str, int]] = []
    turn = 0

    async def scenario() -> None:
        loop = asyncio.get_running_loop()

        def next_turn() -> None:
            nonlocal turn
            turn += 1
            if len(started) < count + (health_after is not None):
                loop.call_soon(next_turn)

        async def request(name: str) -> None:
            await budget.wait_for_turn()
            started.append((name, turn))
            clock.now += REQUEST_SECONDS

        async def health() -> None:
            started.append(("health", turn))

        loop.call_soon(next_turn)
        tasks = []
        for index in range(count):
            if index == health_after:
                tasks.append(asyncio.ensure_future(health()))
            tasks.append(asyncio.ensure_future(request(f"score-{index}")))
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    return {"order": [name for name, _ in started], "turns": [turn for _, turn in started]}


def starts_per_turn(turns: list[int]) -> list[int]:
    return [turns.count(turn) for turn in sorted(set(turns))]


def test_requests_start_in_order_five_per_turn() -> None:
    run = run_requests(23, BUDGET_SECONDS)
    assert run["order"] == [f"score-{index}" for index in range(23)]
    assert starts_per_turn(run["turns"]) == [5, 5, 5, 5, 3]
    assert run["turns"] == sorted(run["turns"])


def test_fewer_requests_than_the_budget_allows_all_start_in_one_turn() -> None:
    run = run_requests(4, BUDGET_SECONDS)
    assert starts_per_turn(run["turns"]) == [4]


def test_health_runs_behind_one_turn_of_requests_not_behind_all() -> None:
    # /health's task is created after 100 budgeted ones, as a probe arriving behind a burst.
    run = run_requests(100, BUDGET_SECONDS, health_after=100 - 1)
    assert run["order"].index("health") == 5  # the first turn's five requests, then /health
    unbudgeted = run_requests(100, 1000.0, health_after=100 - 1)  # a budget that never binds
    assert unbudgeted["order"].index("health") == 99  # without the budget: behind all of them
    assert starts_per_turn(unbudgeted["turns"]) == [101]  # all in one turn


def test_a_budget_of_0_starts_every_request_in_one_turn() -> None:
    run = run_requests(100, 0.0, health_after=100 - 1)
    assert starts_per_turn(run["turns"]) == [101]
    assert run["order"].index("health") == 99


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_a_budget_must_be_0_or_more(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be 0 or more"):
        TurnBudget(seconds)
