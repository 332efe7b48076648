"""Faults under load, on real servers (2 workers) under CPython and PyPy, for both services: a
worker killed with SIGKILL is replaced and costs only the requests it had in flight; SIGTERM lets
every in-flight request finish with the right answer (a long fib(n); a POST /score whose body was
still arriving) and leaves nothing of the server's process group behind."""

from __future__ import annotations

import pytest

from benchmarks.reliability_faults import (
    measure_container_stop,
    measure_graceful_shutdown,
    measure_killed_worker,
)
from variants import GRACEFUL_SHUTDOWN_SECONDS, Variant, get_variant

# One CPython and one PyPy Fibonacci variant (the two uvicorn versions installed, 0.54 and 0.39),
# and a scoring variant for each fault, one on each interpreter.
FIB_VARIANTS = [get_variant("baseline"), get_variant("pypy")]
KILLED_WORKER_VARIANTS = [*FIB_VARIANTS, get_variant("scoring")]
SHUTDOWN_VARIANTS = [*FIB_VARIANTS, get_variant("scoring-pypy-lean")]
CONNECTIONS = 8


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def quiet(_: str) -> None:
    pass


@pytest.mark.parametrize("variant", KILLED_WORKER_VARIANTS, ids=lambda variant: variant.name)
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


@pytest.mark.parametrize("variant", SHUTDOWN_VARIANTS, ids=lambda variant: variant.name)
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
        assert answer["right"] is True, answers
    if variant.workload == "fib":
        n = int(result["in_flight_request"].rsplit("/", 1)[1])
        assert [answer["result"] for answer in completed] == [fib(n)] * len(completed)
    else:  # the rest of each body was sent after the signal: the worker still read and scored it
        assert result["in_flight_request"].startswith("POST /score, half its")
        assert all(answer["seconds"] >= 1.0 for answer in completed), answers
    assert result["timeout_graceful_shutdown_seconds"] == GRACEFUL_SHUTDOWN_SECONDS
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


def test_docker_compose_stop_semantics_pid1_stops_within_the_grace_period() -> None:
    """The image's command as PID 1 of a PID namespace gets SIGTERM alone, as `docker compose
    stop` sends it: serve.py handles it (a PID 1 without a handler would ignore it and be
    SIGKILLed after the grace period), the long requests complete, the namespace empties."""
    result = measure_container_stop(get_variant("pypy"), say=quiet)

    assert result["stop"] == "docker compose stop: SIGTERM to PID 1, SIGKILL after 20 s"
    assert result["sigkill_after_seconds"] is None, result
    assert result["group_exit_seconds"] is not None and result["group_exit_seconds"] < 20
    completed = [answer for answer in result["in_flight"] if answer.get("right")]
    assert len(completed) >= 3, result["in_flight"]
    assert result["stuck_upload"] is None  # a GET has no body to hold back
    assert result["left_in_group"] == [] and result["left_behind"] == []
    assert result["status"] == "ok", result
