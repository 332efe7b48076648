"""The case study's scoring service over real HTTP: `uvicorn scoring_app:app` under CPython and
PyPy (asyncio, httptools, as the variants serve it), with each way of validating, one server each
on a free port, started from a directory outside the repository and stopped with its process
group."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from baseline.fib_settings import SettingsError
from fraud_scoring.engine import score
from fraud_scoring.generator import generate_requests
from fraud_scoring.golden import answer_differences, load_corpus
from processes import (
    LOOPBACK,
    ProcessError,
    free_port,
    group_members,
    http_get,
    run_group,
    start_group,
    stop_group,
    wait_for_health,
)
from scoring_app import STARTUP_FAILURE
from scoring_settings import ENGINE_FLAVOURS, load_engine
from scoring_validation import MAX_BODY_BYTES
from variants import INTERPRETERS, PYPY_GC_SETTINGS, SCORING_VARIANTS

# uvicorn's loop per interpreter, as the variants table chooses it; httptools on both.
LOOPS = {variant.interpreter: variant.loop for variant in SCORING_VARIANTS}
RUNTIME_PREFIXES = {"cpython": "CPython 3.", "pypy": "PyPy 7."}
SERVERS = [(interpreter, mode) for interpreter in LOOPS for mode in ("pydantic", "python")]
GENERATED_SEED = 3
GENERATED_COUNT = 200
COMPILED_FLAVOURS = [name for name in ENGINE_FLAVOURS if name != "python"]


@dataclass
class ScoringServer:
    interpreter: str
    validation: str
    port: int
    process: subprocess.Popen  # uvicorn, the leader of the server's process group
    log_path: Path

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_command(interpreter: str, port: int) -> list[str]:
    return [
        str(INTERPRETERS[interpreter]), "-m", "uvicorn", "scoring_app:app",
        "--host", LOOPBACK, "--port", str(port), "--workers", "1",
        "--loop", LOOPS[interpreter], "--http", "httptools", "--no-access-log",
    ]  # fmt: skip


def server_environment(interpreter: str, validation: str, engine: str = "python") -> dict[str, str]:
    """The caller's environment without PYTHONPATH (the app imports through the .pth file), with
    `engine`, `validation`, and for PyPy the GC settings its variants run with."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    env.update(SCORING_ENGINE=engine, SCORING_VALIDATION=validation)
    if interpreter == "pypy":
        env.update(PYPY_GC_SETTINGS)
    return env


@contextmanager
def scoring_server(
    interpreter: str, validation: str, engine: str = "python"
) -> Iterator[ScoringServer]:
    """A healthy server for the block, started in a directory of its own (the app imports through
    the .pth file, not the working directory), its whole process group stopped however the block
    ends."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="scoring-"))
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        process = start_group(
            server_command(interpreter, port),
            cwd=workdir,
            env=server_environment(interpreter, validation, engine),
            stdout=log,
            stderr=log,
        )
    server = ScoringServer(interpreter, validation, port, process, log_path)
    try:
        try:
            wait_for_health(f"http://{LOOPBACK}:{port}", timeout=60, process=process)
        except ProcessError as error:
            raise ProcessError(f"{interpreter}, {validation}: {error}\n{server.log()}") from None
        yield server
    finally:
        left = stop_group(process)
        log_text = server.log()
        log_path.unlink()
        workdir.rmdir()
        assert not left, f"processes left behind: {left}"
        assert "Traceback" not in log_text, log_text[-3000:]


@pytest.fixture(scope="module", params=SERVERS, ids=[f"{i}-{m}" for i, m in SERVERS])
def server(request: pytest.FixtureRequest) -> Iterator[ScoringServer]:
    with scoring_server(*request.param) as running:
        yield running


@pytest.fixture(scope="module")
def connection(server: ScoringServer) -> Iterator[http.client.HTTPConnection]:
    """One keep-alive connection to the server for the module's requests."""
    connection = server.connect()
    yield connection
    connection.close()


def post_score(
    connection: http.client.HTTPConnection, body: bytes, content_type: str = "application/json"
) -> tuple[int, dict]:
    connection.request("POST", "/score", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def health(server: ScoringServer) -> dict:
    answer = http_get(f"http://{LOOPBACK}:{server.port}/health", timeout=10)
    assert answer.status == 200
    return answer.json()


def test_health_says_what_serves(server: ScoringServer):
    body = health(server)
    assert body["status"] == "healthy"
    assert body["runtime"].startswith(RUNTIME_PREFIXES[server.interpreter])
    assert body["engine"] == "python" and body["compiled"] is False
    assert body["validation"] == server.validation
    assert psutil.Process(server.process.pid).cmdline()[0] == str(INTERPRETERS[server.interpreter])


def golden_differences(connection: http.client.HTTPConnection) -> list[str]:
    differences = []
    for case in load_corpus()["cases"]:
        status, answer = post_score(connection, json.dumps(case["request"]).encode())
        assert status == 200, (case["name"], answer)
        assert set(answer) == {"score", "decision", "rules", "engine"}
        differences += answer_differences(case["name"], case["expected"], answer)
    return differences


def test_the_golden_corpus_gets_its_stored_answers(
    server: ScoringServer, connection: http.client.HTTPConnection
):
    assert golden_differences(connection) == []


def test_generated_requests_get_the_engines_answers(
    server: ScoringServer, connection: http.client.HTTPConnection
):
    differences = []
    requests = generate_requests(GENERATED_SEED, GENERATED_COUNT)
    for index, request in enumerate(requests):
        status, answer = post_score(connection, json.dumps(request).encode())
        assert status == 200, (index, answer)
        expected = score(request["transaction"], request["history"])
        differences += answer_differences(f"request {index}", expected, answer)
    assert differences == []


def raw_status(server: ScoringServer, head: bytes, body_parts: Iterator[bytes]) -> int:
    """The status the server answers to a request sent as raw bytes, read as soon as it comes:
    the body may be cut short, so only a server that stops reading early answers at all."""
    with socket.create_connection((LOOPBACK, server.port), timeout=10) as raw:
        raw.sendall(head)
        for part in body_parts:
            raw.sendall(part)
        status_line = raw.makefile("rb").readline()
    return int(status_line.split()[1])


POST_HEAD = f"POST /score HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server: ScoringServer):
    pid = server.process.pid
    head = f"{POST_HEAD}Content-Length: {100 * MAX_BODY_BYTES}\r\n\r\n".encode()
    assert raw_status(server, head, iter([b'{"transaction": '])) == 413
    assert health(server)["status"] == "healthy"
    assert server.process.poll() is None and server.process.pid == pid


def test_a_chunked_body_is_refused_once_it_passes_the_limit(server: ScoringServer):
    head = f"{POST_HEAD}Transfer-Encoding: chunked\r\n\r\n".encode()
    chunk = b"1000\r\n" + b" " * 0x1000 + b"\r\n"  # 4 KiB; the final empty chunk never comes
    chunks = iter([chunk] * (MAX_BODY_BYTES // 0x1000 + 1))
    assert raw_status(server, head, chunks) == 413
    assert health(server)["status"] == "healthy"
    assert server.process.poll() is None


def test_a_client_that_leaves_mid_body_kills_nothing(server: ScoringServer):
    head = f"{POST_HEAD}Content-Length: 1000\r\n\r\n".encode()
    with socket.create_connection((LOOPBACK, server.port), timeout=10) as raw:
        raw.sendall(head + b'{"transaction": ')
    assert health(server)["status"] == "healthy"  # and no traceback in its log (the fixture)
    assert server.process.poll() is None


def test_a_whole_oversized_body_is_refused_and_the_connection_still_serves(
    server: ScoringServer,
):
    connection = server.connect()
    try:
        status, answer = post_score(connection, b" " * (16 * MAX_BODY_BYTES))
        assert status == 413
        assert answer == {"detail": f"the body must be at most {MAX_BODY_BYTES} bytes"}
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def with_amount(amount: float) -> bytes:
    """A valid request but for its amount (json.dumps writes NaN and Infinity as such)."""
    request = load_corpus()["cases"][0]["request"]
    transaction = {**request["transaction"], "amount": amount}
    return json.dumps({**request, "transaction": transaction}).encode()


MALFORMED = [
    (with_amount(float("nan")), "application/json"),
    (with_amount(float("-inf")), "application/json"),
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"null", "application/json"),
    (b'{"transaction": NaN, "history": []}', "application/json"),
    (b'{"transaction": {"amount": Infinity}}', "application/json"),
    (b"\xff\xfe\x00{", "application/json"),
    (b"[" * 20_000 + b"]" * 20_000, "application/json"),  # nested deeper than any parser recurses
    (b'{"transaction": "\\ud800", "history": []}', "application/json"),
    (json.dumps({"transaction": {}, "history": [None] * 60}).encode(), "application/json"),
    (b'{"transaction": {}, "history": []}', "text/plain"),
    (b"transaction=1", "application/x-www-form-urlencoded"),
]


def test_malformed_bodies_get_a_4xx_and_the_worker_lives_on(
    server: ScoringServer, connection: http.client.HTTPConnection
):
    for body, content_type in MALFORMED:
        status, answer = post_score(connection, body, content_type)
        assert 400 <= status < 500, (body[:40], status, answer)
        assert isinstance(answer["detail"], str)
    assert health(server)["status"] == "healthy"
    assert server.process.poll() is None


@pytest.mark.parametrize("flavour", COMPILED_FLAVOURS)
def test_a_compiled_engine_serves_the_golden_answers(flavour: str):
    try:
        load_engine(flavour)  # built for this CPython, and so for the server's
    except SettingsError as error:
        pytest.skip(str(error))
    with scoring_server("cpython", "python", engine=flavour) as running:
        body = health(running)
        assert (body["engine"], body["compiled"]) == (flavour, True)
        connection = running.connect()
        try:
            assert golden_differences(connection) == []
        finally:
            connection.close()


def test_a_bad_setting_stops_start_up_with_one_line():
    env = {**server_environment("cpython", "pydantic"), "SCORING_ENGINE": "fortran"}
    completed = run_group(server_command("cpython", free_port()), timeout=30, env=env)
    assert completed.returncode == STARTUP_FAILURE
    assert completed.stderr.strip().splitlines() == [
        "scoring_app: SCORING_ENGINE must be one of python, cython, cython-typed, mypyc, "
        "got 'fortran'"
    ]


def test_a_stopped_server_leaves_no_process():
    with scoring_server("cpython", "python") as running:
        pgid = running.process.pid
        pids = [member.pid for member in group_members(pgid)]
        assert pids
    assert group_members(pgid) == []
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
