"""The case study's Locust scenario: a mixed load on the scoring service with no think time (we
measure capacity): mostly realistic transactions, some malformed requests, some /health. Every
answer is checked: a scored request must get the decision and the rules that the plain engine gives
in this process, and a malformed one its 422, or it counts as a failure."""

from __future__ import annotations

import json
import random

from locust import FastHttpUser, constant, task

from fraud_scoring.engine import score
from fraud_scoring.generator import generate_requests

SEED = 11  # not the wrk bodies' seed: a different stream of the same kinds of customers
REQUESTS = 300
HEADERS = {"Content-Type": "application/json"}


def expected_answers() -> list[tuple[bytes, dict]]:
    """The bodies to send, each with the answer the plain engine gives it."""
    pairs = []
    for request in generate_requests(SEED, REQUESTS):
        body = json.dumps(request, separators=(",", ":")).encode()
        pairs.append((body, score(request["transaction"], request["history"])))
    return pairs


BODIES = expected_answers()


def malformed_body() -> bytes:
    body, _ = random.choice(BODIES)
    request = json.loads(body)
    request["history"] = request["history"] * 2 + [request["transaction"]]  # over 50 entries
    return json.dumps(request).encode()


class ScoringUser(FastHttpUser):
    wait_time = constant(0)

    @task(18)
    def score_transaction(self) -> None:
        body, expected = random.choice(BODIES)
        with self.client.post("/score", data=body, headers=HEADERS, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}: {answer.text[:100]}")
                return
            got = answer.json()
            if (got["decision"], got["rules"]) != (expected["decision"], expected["rules"]):
                answer.failure(f"a different answer than the plain engine's: {answer.text[:100]}")

    @task(1)
    def malformed(self) -> None:
        with self.client.post(
            "/score", data=malformed_body(), headers=HEADERS, name="/score (malformed)",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 422:
                answer.failure(f"status {answer.status_code}, expected 422")
            else:
                answer.success()

    @task(1)
    def health(self) -> None:
        with self.client.get("/health", catch_response=True) as answer:
            if answer.status_code != 200 or answer.json().get("status") != "healthy":
                answer.failure(f"unhealthy: {answer.status_code} {answer.text[:100]}")
