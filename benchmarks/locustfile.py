"""The Locust scenario: a mixed load with no think time (we measure capacity): mostly small n,
some large, some /health. Every response is checked against the contract, and a wrong answer is
a failure, not just a bad status."""

from __future__ import annotations

import random

from locust import FastHttpUser, constant, task

from contract_check import fib_exact  # importable: `make setup` puts the repository on the path

SMALL_N = range(0, 11)
LARGE_N = 25


class MixedFibUser(FastHttpUser):
    wait_time = constant(0)

    def _get_fib(self, n: int, name: str) -> None:
        with self.client.get(f"/fib/{n}", name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif response.json().get("result") != fib_exact(n):
                response.failure(f"wrong result for n={n}: {response.text[:100]}")

    @task(7)
    def small_fib(self) -> None:
        self._get_fib(random.choice(SMALL_N), "/fib/[0-10]")

    @task(2)
    def large_fib(self) -> None:
        self._get_fib(LARGE_N, f"/fib/{LARGE_N}")

    @task(1)
    def health(self) -> None:
        with self.client.get("/health", catch_response=True) as response:
            if response.status_code != 200 or response.json().get("status") != "healthy":
                response.failure(f"unhealthy: {response.status_code} {response.text[:100]}")
