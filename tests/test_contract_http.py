"""The contract over real HTTP: every variant served by uvicorn under its own interpreter, started
the way `make run-NAME` starts it, on a free port, two workers."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest

from benchmarks.servers import RunningServer, running_server
from tests.conftest import expected_implementation, expected_runtime_prefix
from tests.contract import (
    ACCEPTED_SPELLINGS,
    DEFAULT_CAP,
    EXACT_RANGE,
    bad_requests,
    check_fib_body,
    fib_reference,
)
from variants import VARIANTS

WORKERS = 2
SMALL_CAP = 10
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module", params=VARIANTS, ids=[v.name for v in VARIANTS])
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    with running_server(request.param, workers=WORKERS) as server:
        yield server


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        yield client


def test_serves_the_variant_under_its_interpreter(server: RunningServer, client: httpx.Client):
    body = client.get("/health").json()
    variant = server.variant
    assert body["status"] == "healthy"
    assert body["implementation"] == expected_implementation(variant)
    assert body["runtime"].startswith(expected_runtime_prefix(variant))
    assert len(server.workers()) == WORKERS
    for process in server.processes():
        assert process.cmdline()[0] == str(variant.interpreter_path)


def test_fib_is_exact_for_0_to_25_and_the_cap(server: RunningServer, client: httpx.Client):
    runtime = client.get("/health").json()["runtime"]
    for n in [*EXACT_RANGE, DEFAULT_CAP]:
        response = client.get(f"/fib/{n}")
        assert response.status_code == 200, (n, response.text)
        assert response.headers["content-type"] == "application/json"
        check_fib_body(response.json(), n, expected_implementation(server.variant), runtime)


def test_the_value_decides_not_the_spelling(server: RunningServer, client: httpx.Client):
    runtime = client.get("/health").json()["runtime"]
    for case, segment, n in ACCEPTED_SPELLINGS:
        response = client.get(f"/fib/{segment}")
        assert response.status_code == 200, (case, response.text)
        check_fib_body(response.json(), n, expected_implementation(server.variant), runtime)


def test_bad_input_gets_the_same_4xx_everywhere_and_kills_nothing(
    server: RunningServer, client: httpx.Client
):
    pids_before = sorted(p.pid for p in server.processes())
    for case, path, status, body in bad_requests(DEFAULT_CAP):
        response = client.get(path)
        assert (response.status_code, response.json()) == (status, body), case
    # A URL far beyond any parser's line limit: refused (4xx) by the HTTP layer or the app.
    assert 400 <= raw_status(server.port, "/fib/" + "9" * 100_000) < 500
    assert client.get("/health").status_code == 200
    assert sorted(p.pid for p in server.processes()) == pids_before


def test_health_answers_within_a_second_while_workers_are_saturated(
    server: RunningServer, client: httpx.Client
):
    stop = threading.Event()
    statuses: list[int] = []  # checked in the test's thread: an assert in a thread only warns

    def keep_a_worker_busy() -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as load:
            while not stop.is_set():
                statuses.append(load.get(f"/fib/{DEFAULT_CAP}").status_code)

    load_threads = [threading.Thread(target=keep_a_worker_busy) for _ in range(4 * WORKERS)]
    for thread in load_threads:
        thread.start()
    try:
        time.sleep(1.0)  # every worker's compute slots fill up
        cpu_before = server_cpu_seconds(server)
        window_start = time.monotonic()
        for _ in range(5):
            response = client.get("/health", timeout=1.0)  # httpx raises if it takes longer
            assert response.status_code == 200
            time.sleep(0.2)
        busy = (server_cpu_seconds(server) - cpu_before) / (time.monotonic() - window_start)
    finally:
        stop.set()
        for thread in load_threads:
            thread.join(timeout=120)
    # The probes ran while the server really was computing: at least one core's worth of CPU.
    assert busy > 0.9, f"server used only {busy:.2f} cores during the probes"
    assert statuses and set(statuses) == {200}, statuses


def raw_status(port: int, path: str) -> int:
    """The status of GET `path` sent as is (httpx refuses URLs this long before sending them)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def server_cpu_seconds(server: RunningServer) -> float:
    total = 0.0
    for process in server.processes():
        times = process.cpu_times()
        total += times.user + times.system
    return total


@pytest.fixture(scope="module")
def small_cap_server(server: RunningServer) -> Iterator[RunningServer]:
    """The same variant with FIB_MAX_N=10 and every computation over 50 ms refused."""
    env = {"FIB_MAX_N": str(SMALL_CAP), "FIB_BUDGET_SECONDS": "0.05"}
    with running_server(server.variant, workers=1, env=env) as small:
        yield small


def test_fib_max_n_from_the_environment_sets_the_cap(small_cap_server: RunningServer):
    with httpx.Client(base_url=small_cap_server.base_url, timeout=30) as client:
        assert client.get("/fib/10").json()["result"] == 55
        refused = client.get("/fib/11")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "n must be an integer from 0 to 10 (FIB_MAX_N); got 11"}


def test_a_computation_over_the_budget_is_refused_at_once(server: RunningServer):
    env = {"FIB_MAX_N": "92", "FIB_BUDGET_SECONDS": "0.5"}
    with (
        running_server(server.variant, workers=1, env=env) as uncapped,
        httpx.Client(base_url=uncapped.base_url, timeout=30) as client,
    ):
        started = time.monotonic()
        refused = client.get("/fib/92")  # years of computation: answered before it starts
        answered_in = time.monotonic() - started
        detail = refused.json()["detail"]
        fits = re.fullmatch(
            r"fib\(92\) would take about \S+ s here, over the budget of 0\.5 s per request "
            r"\(FIB_BUDGET_SECONDS\); n up to (\d+) fits",
            detail,
        )
        assert refused.status_code == 400 and fits, detail
        assert answered_in < 5
        assert client.get("/health").status_code == 200
        allowed = int(fits.group(1))
        assert client.get(f"/fib/{allowed}").json()["result"] == fib_reference(allowed)


def test_schemathesis_finds_nothing_against_the_published_schema(
    small_cap_server: RunningServer, tmp_path: Path
):
    """A schema-driven client (schemathesis) with every check: no 5xx, no valid request refused,
    no invalid one accepted, every response as the schema describes it."""
    completed = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{small_cap_server.base_url}/openapi.json",
            "--checks", "all", "--max-examples", "60", "--seed", "1",
            "--generation-database", "none", "--no-color", "--workers", "1",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    summary = completed.stdout[-3000:]
    assert completed.returncode == 0, summary
    assert re.search(r"(\d+) generated, \1 passed", completed.stdout), summary


def test_processes_of_a_stopped_server_are_gone(server: RunningServer):
    with running_server(server.variant, workers=2) as other:
        pids = [p.pid for p in other.processes()]
        assert len(other.workers()) == 2
        assert len(pids) >= 3  # the supervisor, two workers (and multiprocessing's tracker)
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
