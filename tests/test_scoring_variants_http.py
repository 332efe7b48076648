"""Every step of the case study's migration gives the same answers over real HTTP: each of the six
scoring variants, started with the command `make run-*` uses (its interpreter, engine build and
validation), answers the golden corpus and 10,000 generated requests with the decision and the
rules that the plain engine gives in this process, and a score within 1e-9."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from fraud_scoring.engine import score
from fraud_scoring.generator import generate_requests
from fraud_scoring.golden import answer_differences, load_corpus
from processes import LOOPBACK, free_port, start_group, stop_group, wait_for_health
from variants import SCORING_VARIANTS, Variant, server_command, server_environment

GENERATED_SEED = 5  # neither the benchmark's bodies (1) nor the other HTTP tests' (3)
GENERATED_COUNT = 10_000
HEADERS = {"Content-Type": "application/json"}


def cases() -> list[tuple[str, bytes, dict]]:
    """(name, body, the plain engine's answer): the golden corpus, then the generated requests."""
    found = [
        (case["name"], json.dumps(case["request"]).encode(), case["expected"])
        for case in load_corpus()["cases"]
    ]
    for index, request in enumerate(generate_requests(GENERATED_SEED, GENERATED_COUNT)):
        expected = score(request["transaction"], request["history"])
        found.append((f"generated {index}", json.dumps(request).encode(), expected))
    return found


CASES = cases()


@pytest.fixture(params=SCORING_VARIANTS, ids=[v.name for v in SCORING_VARIANTS])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Variant, int]]:
    """The variant's server (one worker) on a free port, stopped by its process group."""
    variant: Variant = request.param
    port = free_port()
    command = server_command(variant, LOOPBACK, port, workers=1)
    server = start_group(
        command,
        env=server_environment(inherited_environment(), variant),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(f"http://{LOOPBACK}:{port}", timeout=90, process=server)
        yield variant, port
    finally:
        stop_group(server)


def inherited_environment() -> dict[str, str]:
    """This process's environment without scoring settings, which the variant's own must set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SCORING_", "PYTHONPATH"))}


def test_every_step_answers_like_the_plain_engine(served: tuple[Variant, int]):
    variant, port = served
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    differences: list[str] = []
    try:
        for name, body, expected in CASES:
            connection.request("POST", "/score", body, HEADERS)
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, (variant.name, name, answer)
            differences += answer_differences(name, expected, answer)
    finally:
        connection.close()
    assert differences == [], f"{variant.name}: {differences[:5]}"
    assert len(CASES) == len(load_corpus()["cases"]) + GENERATED_COUNT
