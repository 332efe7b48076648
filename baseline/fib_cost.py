"""How long fib(n) will take in this process: a cost per call of the recursion, measured at start-up
and refined by every computation served, times the number of calls fib(n) makes.

The naive recursion makes calls(n) = 1 + calls(n - 1) + calls(n - 2) = 2 * fib(n + 1) - 1 calls, so
its time grows by the golden ratio (about 1.618) per step of n: fib(50) takes about 123 times as
long as fib(40). Knowing the cost per call lets the app refuse, before it starts, a computation that
would hold a worker far longer than any client waits.
"""

from __future__ import annotations

import time
from typing import Callable

from baseline.fib_settings import FIB_MAX_N_LIMIT

CALIBRATION_N = 20  # 21,891 calls: long enough to time, short enough to run at every start-up
CALIBRATION_RUNS = 5  # the fastest run counts (a JIT compiles during the first ones)


def count_recursive_calls(n: int) -> int:
    """How many calls the naive recursion makes to compute fib(n) (1 for n = 0 and n = 1)."""
    current, following = 0, 1
    for _ in range(n + 1):
        current, following = following, current + following
    return 2 * current - 1


# Every request asks for an estimate (twice), so the counts up to the largest allowed n are a table.
_CALLS = tuple(count_recursive_calls(n) for n in range(FIB_MAX_N_LIMIT + 1))


def recursive_calls(n: int) -> int:
    """count_recursive_calls(n), from the table when n is in it."""
    return _CALLS[n] if 0 <= n < len(_CALLS) else count_recursive_calls(n)


def time_one_call(fib: Callable[[int], int], n: int) -> float:
    start = time.perf_counter()
    fib(n)
    return time.perf_counter() - start


class CostModel:
    """The fastest cost per recursive call seen in this process, and what it predicts.

    The fastest, not the average: an estimate refuses a request only when even the best case
    would exceed the budget, so a busy machine never makes the app refuse what it can serve (a
    request it accepts may then take longer than estimated).
    """

    def __init__(self, seconds_per_call: float) -> None:
        self.seconds_per_call = seconds_per_call

    @classmethod
    def calibrate(
        cls, fib: Callable[[int], int], n: int = CALIBRATION_N, runs: int = CALIBRATION_RUNS
    ) -> CostModel:
        fastest = min(time_one_call(fib, n) for _ in range(runs))
        return cls(max(fastest, 1e-9) / recursive_calls(n))

    def observe(self, n: int, seconds: float) -> None:
        """A computation of fib(n) took `seconds`: keep its cost per call if it is the fastest."""
        if seconds > 0:
            self.seconds_per_call = min(self.seconds_per_call, seconds / recursive_calls(n))

    def estimate_seconds(self, n: int) -> float:
        return self.seconds_per_call * recursive_calls(n)

    def largest_n_within(self, budget_seconds: float, cap: int) -> int:
        """The largest n <= cap whose estimate fits in the budget (0 if none does)."""
        n = 0
        while n < cap and self.estimate_seconds(n + 1) <= budget_seconds:
            n += 1
        return n
