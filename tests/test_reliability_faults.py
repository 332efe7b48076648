"""Faults under load, on real servers (2 workers) under CPython and PyPy: a worker killed with
SIGKILL is replaced and costs only the requests it had in flight; SIGTERM lets every in-flight
request finish with the right answer and leaves nothing of the server's process group behind."""

from __future__ import annotations

import pytest

from benchmarks.reliability_faults import measure_graceful_shutdown, measure_killed_worker
from variants import Variant, get_variant

# One CPython and one PyPy Fibonacci variant: the two uvicorn versions installed (0.54 and 0.39).
FAULT_VARIANTS = [get_variant("baseline"), get_variant("pypy")]
CONNECTIONS = 8


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def quiet(_: str) -> None:
    pass


@pytest.mark.parametrize("variant", FAULT_VARIANTS, ids=lambda variant: variant.name)
def test_a_killed_worker_is_replaced_and_costs_only_its_in_flight_requests(
    variant: Variant,
) -> None:
    result = measure_killed_worker(
        variant, seconds=6, kill_after=2.5, connections=CONNECTIONS, say=quiet
    )

    assert result["status"] == "ok", result
    assert result["replaced"] is True, result
    assert len(result["pids_after"]) == 2, result
    assert result["killed_pid"] in result["pids_before"]
    assert result["killed_pid"] not in result["pids_after"]
    assert result["new_pids"] and set(result["new_pids"]).isdisjoint(result["pids_before"])
    assert result["failed_requests"] <= CONNECTIONS, result["per_second"]
    assert result["left_behind"] == []


@pytest.mark.parametrize("variant", FAULT_VARIANTS, ids=lambda variant: variant.name)
def test_sigterm_under_load_finishes_every_in_flight_request_and_leaves_nothing(
    variant: Variant,
) -> None:
    result = measure_graceful_shutdown(variant, load_seconds=2, clients=4, say=quiet)

    answers = result.get("in_flight", [])
    assert len(answers) == 4, result
    # A request a worker had accepted completes with the right answer. One sent just before the
    # signal may still wait in the supervisor's listen backlog, which no worker accepts any more:
    # it is reset when the supervisor exits (seen once in 6 runs on PyPy, the measured behaviour
    # README "Reliability" describes). Nothing else is allowed, and most requests were in flight.
    completed = [answer for answer in answers if "status" in answer]
    for answer in completed:
        assert answer["status"] == 200, answers
        assert answer["result"] == fib(result["n"]), answers
    reset = [answer for answer in answers if "status" not in answer]
    assert all("ConnectionResetError" in answer["error"] for answer in reset), answers
    assert len(completed) >= 3, answers
    assert result["group_exit_seconds"] is not None, "the group did not exit within 30 s"
    assert result["left_in_group"] == [] and result["left_behind"] == []
    # A new connection is answered (before the workers stop), refused, or reset when the group
    # exits; it never stays open beyond that.
    probes = result["new_connections_after_signal"]
    assert probes, result
    for probe in probes:
        assert probe["outcome"] in ("HTTP/1.1 200 OK", "refused", "reset", "closed"), probes
    assert result["new_connection_hung"] is False, probes
    assert result["status"] == "ok", result
