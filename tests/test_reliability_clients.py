"""Slow and hostile clients against a real server (benchmarks/reliability_clients.py), short:
one CPython and one PyPy fib variant, 200 slowloris connections, oversized headers."""

from __future__ import annotations

import psutil
import pytest

from benchmarks.reliability_clients import measure_hostile_clients
from variants import get_variant

CONNECTIONS = 200
SECONDS = 5.0
SLOWEST_PROBE_S = 1.0


@pytest.fixture(scope="module", params=["baseline", "pypy"])
def measured(request: pytest.FixtureRequest) -> dict:
    variant = get_variant(request.param)
    if not variant.installed:
        pytest.skip(f"{variant.interpreter_path} is not installed")
    own = psutil.Process()
    children, descriptors = set(own.children(recursive=True)), own.num_fds()
    result = measure_hostile_clients(
        variant,
        connections=CONNECTIONS,
        seconds=SECONDS,
        say=lambda line: None,
        scenarios=("slowloris", "oversized"),
    )
    result["left_children"] = set(own.children(recursive=True)) - children
    result["left_descriptors"] = own.num_fds() - descriptors
    return result


def test_health_answers_every_probe_under_slowloris(measured: dict):
    health = measured["scenarios"]["slowloris"]["health"]
    assert health["failures"] == 0, health["failure_examples"]
    assert health["answered"] >= 10  # a probe every 0.2 s for 5 s
    assert health["max_ms"] < SLOWEST_PROBE_S * 1000


def test_real_requests_are_served_right_under_slowloris(measured: dict):
    slowloris = measured["scenarios"]["slowloris"]
    assert slowloris["real"]["failed"] == 0, slowloris["real"]["failure_examples"]
    assert slowloris["real"]["served"] >= 10
    assert slowloris["hostile"]["opened"] == CONNECTIONS
    assert slowloris["hostile"]["bytes_trickled"] > 0


def test_oversized_headers_get_no_5xx_and_no_hang(measured: dict):
    """uvicorn with httptools has no header-size limit: a 100 kB header is answered (a 200 here);
    what must never happen is a 5xx or a request left hanging."""
    answers = measured["scenarios"]["oversized"]["hostile"]["header_100kB"]
    assert answers, "no oversized request was sent"
    bad = {
        answer: count
        for answer, count in answers.items()
        if answer in ("hang",) or answer[0] == "5"
    }
    assert not bad, answers
    assert set(answers) <= {"200", "400", "413", "431", "closed"}, answers
    assert measured["scenarios"]["oversized"]["real"]["failed"] == 0


def test_nothing_is_left_running_or_open(measured: dict):
    assert not measured["left_children"]
    assert measured["left_descriptors"] <= 0


def test_limit_concurrency_under_slowloris_refuses_the_real_clients():
    """Why the variants leave uvicorn's --limit-concurrency unset: it counts half-sent
    connections too, so under slowloris the real requests and /health are the ones answered 503."""
    result = measure_hostile_clients(
        get_variant("baseline"),
        connections=100,
        seconds=3.0,
        say=lambda line: None,
        scenarios=("slowloris_limited",),
    )
    limited = result["scenarios"]["slowloris_limited"]
    assert limited["settings"] == {"UVICORN_LIMIT_CONCURRENCY": "50"}
    assert limited["hostile"]["opened"] == 100
    # A request or two may be served while the slow connections are still being opened.
    assert limited["real"]["failed"] > 5 * limited["real"]["served"], limited["real"]
    assert any("503" in example for example in limited["real"]["failure_examples"]), limited
    health = limited["health"]
    assert health["failures"] > 5 * health["answered"], health
