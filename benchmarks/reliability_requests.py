"""What the fault measurements send, per workload: a steady wrk load, and requests that are still
in flight when a signal comes, each checked for the right answer.

- fib: the load is GET /fib/10; an in-flight request is GET /fib/n with n taking about half a
  second (CPython 3.11: fib(34); PyPy's JIT: fib(40)), so it is still computing at the signal.
- scoring: the load is the case study's rotating bodies (wrk_scoring.lua); an in-flight request is
  POST /score whose headers and half its body are sent before the signal and the rest a second
  after it, when every worker is shutting down: a request a worker has begun to read must still be
  scored, with the decision and rules of the plain engine.
"""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.wrk import WrkPlan
from contract_check import fib_exact
from processes import LOOPBACK, http_get
from variants import Variant

CHEAP_PATH = "/fib/10"
LONG_N = {"cpython": 34, "pypy": 40}
REST_OF_BODY_AFTER_SECONDS = 1.0  # the supervisor passes the signal on within 0.5 s
REQUEST_TIMEOUT_SECONDS = 60


@contextmanager
def steady_load_plan(
    variant: Variant, base_url: str, connections: int, seconds: int
) -> Iterator[WrkPlan]:
    """A steady wrk load of the variant's own kind of request (its bodies file lives as long as
    the block)."""
    if variant.workload != "scoring":
        yield WrkPlan(base_url + CHEAP_PATH, connections, seconds, 2)
        return
    from benchmarks.scoring import SCORING_PATH, WRK_SCRIPT, write_bodies

    with tempfile.TemporaryDirectory(prefix="fault-load-") as folder:
        bodies = write_bodies(Path(folder) / "bodies.jsonl")
        yield WrkPlan(
            base_url + SCORING_PATH, connections, seconds, 10,
            script=WRK_SCRIPT, script_args=(str(bodies),),
        )  # fmt: skip


@dataclass
class InFlight:
    """`clients` requests on connections of their own; each answer dict gets its status, whether
    the answer was right ("right"), the error that replaced it, and how long it took."""

    description: str
    send: Callable[[dict, threading.Event], None]
    clients: int
    warm_up: Callable[[], object]
    answers: list[dict] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    release_delay: float = 0.0
    # A request that never completes (a body that never ends), where the workload has one.
    stuck: Callable[[dict], None] | None = None

    def start(self) -> list[threading.Thread]:
        self.answers = [{} for _ in range(self.clients)]
        threads = [
            threading.Thread(target=self.send, args=(answer, self.released))
            for answer in self.answers
        ]
        for thread in threads:
            thread.start()
        return threads

    def release_after_signal(self) -> None:
        """Let the requests send what they held back, `release_delay` s from now."""
        threading.Timer(self.release_delay, self.released.set).start()


def in_flight_requests(variant: Variant, base_url: str, clients: int) -> InFlight:
    port = int(base_url.rsplit(":", 1)[1])
    if variant.workload == "scoring":
        return _scoring_in_flight(port, base_url, clients)
    n = LONG_N[variant.family]
    url = f"{base_url}/fib/{n}"
    return InFlight(
        f"GET /fib/{n}",
        lambda answer, _released: _fib_request(port, n, answer),
        clients,
        lambda: http_get(url, timeout=REQUEST_TIMEOUT_SECONDS),
    )


def _fib_request(port: int, n: int, answer: dict) -> None:
    def check(status: int, body: bytes) -> None:
        if status == 200:
            answer["result"] = json.loads(body)["result"]
            answer["right"] = answer["result"] == fib_exact(n)

    _exchange(port, answer, lambda connection: connection.request("GET", f"/fib/{n}"), check)


def _scoring_in_flight(port: int, base_url: str, clients: int) -> InFlight:
    from fraud_scoring.engine import score
    from fraud_scoring.generator import generate_requests

    request = generate_requests(5, 1)[0]
    body = json.dumps(request, separators=(",", ":")).encode()
    expected = score(request["transaction"], request["history"])

    def send(answer: dict, released: threading.Event) -> None:
        _half_body_request(port, body, expected, answer, released)

    def warm_up() -> None:
        released = threading.Event()
        released.set()
        _half_body_request(port, body, expected, {}, released)

    return InFlight(
        f"POST /score, half its {len(body)}-byte body sent before the signal",
        send, clients, warm_up, release_delay=REST_OF_BODY_AFTER_SECONDS,
        stuck=lambda answer: _stuck_upload(port, body, answer),
    )  # fmt: skip


def _stuck_upload(port: int, body: bytes, answer: dict) -> None:
    """POST /score with half its body, the rest never sent: what the server answers, or how it
    ends the connection, and after how many seconds."""
    began = time.monotonic()
    head = (
        f"POST /score HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=REQUEST_TIMEOUT_SECONDS) as sock:
            sock.sendall(head + body[: len(body) // 2])
            data = sock.recv(256)
        answer["outcome"] = data.split(b"\r\n")[0].decode(errors="replace") if data else "closed"
    except ConnectionResetError:
        answer["outcome"] = "reset"
    except OSError as error:
        answer["outcome"] = f"{type(error).__name__}: {error}"
    answer["seconds"] = time.monotonic() - began


def _half_body_request(
    port: int, body: bytes, expected: dict, answer: dict, released: threading.Event
) -> None:
    half = len(body) // 2

    def send(connection: http.client.HTTPConnection) -> None:
        connection.putrequest("POST", "/score")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body[:half])
        released.wait(REQUEST_TIMEOUT_SECONDS)
        connection.send(body[half:])

    def check(status: int, text: bytes) -> None:
        if status == 200:
            got = json.loads(text)
            answer["right"] = (got["decision"], got["rules"]) == (
                expected["decision"],
                expected["rules"],
            )

    _exchange(port, answer, send, check)


def _exchange(
    port: int,
    answer: dict,
    send: Callable[[http.client.HTTPConnection], None],
    check: Callable[[int, bytes], None],
) -> None:
    """One request on a connection of its own: `send` it, then `check` the answer's status and
    body; `answer` gets the status, or the error that replaced it, and the seconds it took."""
    began = time.monotonic()
    answer["right"] = False
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        send(connection)
        response = connection.getresponse()
        text = response.read()
        answer["status"] = response.status
        check(response.status, text)
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        answer["error"] = f"{type(error).__name__}: {error}"
    finally:
        answer["seconds"] = time.monotonic() - began
        connection.close()
