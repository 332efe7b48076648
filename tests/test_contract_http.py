"""The contract over real HTTP: every variant served by uvicorn under its own interpreter, started
the way `make run-NAME` starts it, on a free port, two workers."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import psutil
import pytest

from benchmarks.servers import RunningServer, running_server
from tests.conftest import EXPECTED_IMPLEMENTATION, expected_runtime_prefix
from tests.contract import DEFAULT_CAP, EXACT_RANGE, bad_requests, check_fib_body
from variants import VARIANTS

WORKERS = 2


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
    assert body["implementation"] == EXPECTED_IMPLEMENTATION[variant.app]
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
        check_fib_body(response.json(), n, EXPECTED_IMPLEMENTATION[server.variant.app], runtime)


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
    completed: list[int] = []

    def keep_a_worker_busy() -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as load:
            while not stop.is_set():
                assert load.get(f"/fib/{DEFAULT_CAP}").status_code == 200
                completed.append(1)

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
    assert completed


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


def test_fib_max_n_from_the_environment_sets_the_cap(server: RunningServer):
    with (
        running_server(server.variant, workers=1, env={"FIB_MAX_N": "10"}) as small,
        httpx.Client(base_url=small.base_url, timeout=30) as client,
    ):
        assert client.get("/fib/10").json()["result"] == 55
        refused = client.get("/fib/11")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "n must be an integer from 0 to 10 (FIB_MAX_N); got 11"}


def test_processes_of_a_stopped_server_are_gone(server: RunningServer):
    with running_server(server.variant, workers=2) as other:
        pids = [p.pid for p in other.processes()]
        assert len(other.workers()) == 2
        assert len(pids) >= 3  # the supervisor, two workers (and multiprocessing's tracker)
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
