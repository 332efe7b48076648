"""Slow and hostile clients against one variant: does /health still answer, are real requests
still served, and what do the hostile requests get?

Scenarios, each for a bounded time against one server (one worker), while a probe times GET
/health every PROBE_INTERVAL s and a light stream of real requests (GET /fib/10, or POST /score
with a golden case) checks the answers:

- slowloris: `connections` sockets send a request's headers one byte at a time, never finishing;
- idle keep-alive: `connections` sockets make one request each, then stay idle;
- oversized: a 100 kB header (and, for scoring, a body over MAX_BODY_BYTES), which must get a 4xx
  or a closed connection, never a 5xx or a hang;
- health flood: a few threads ask /health in a tight loop.

uvicorn's defences (uvicorn 0.54, .venv/cpython/lib/python3.11/site-packages/uvicorn/):
- No header-read timeout. protocols/http/httptools_impl.py arms its only timer,
  timeout_keep_alive_task (`--timeout-keep-alive`, 5 s by default, config.py), in
  on_response_complete, i.e. after a response, and data_received cancels it: a connection that
  never completes its headers is never timed out (h11_impl.py does the same). What bounds
  slowloris is the event loop itself: an incomplete request costs one socket and one protocol
  object, not a thread, so other requests keep being served until the file-descriptor limit
  (RLIMIT_NOFILE, which the server inherits) or `--backlog` (2048) is reached.
- `--limit-concurrency` (config.py, None by default) answers 503 once connections or tasks reach
  the limit, counting idle and half-sent connections too: under slowloris it would refuse the
  real clients, not the attacker (measured: the `slowloris_limited` scenario, its own server).
- `--h11-max-incomplete-event-size` bounds an h11 request head (h11's 16 KiB by default); the
  variants use httptools, whose parser (llhttp) has no header-size limit of its own here, so an
  oversized header reaches the application (which answers it: see the measured `oversized`).
- `--timeout-keep-alive` closes idle keep-alive connections after a response (measured as
  `closed_by_server` in `idle_keepalive`); `--limit-max-requests` restarts a worker after N
  requests, which is no defence against slow clients.
The measured effect is the returned dict: /health latency and failures per scenario, real
requests served and failed, and what the hostile connections got.
"""

from __future__ import annotations

import http.client
import json
import resource
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from benchmarks.servers import RunningServer, running_server
from processes import LOOPBACK
from variants import Variant

PROBE_INTERVAL = 0.2  # seconds between two /health probes
PROBE_TIMEOUT = 5.0  # a probe slower than this counts as a failure
REAL_INTERVAL = 0.1  # seconds between two real requests
TRICKLE_INTERVAL = 0.5  # seconds between two bytes of each slowloris connection
OVERSIZED_HEADER_BYTES = 100_000
HOSTILE_TIMEOUT = 10.0  # an oversized request unanswered after this is a hang
FLOOD_THREADS = 4
FD_MARGIN = 64  # descriptors beyond the connections: probe, real stream, flood, the interpreter
FIB_N, FIB_10 = 10, 55
SCENARIOS = ("slowloris", "idle_keepalive", "oversized", "health_flood", "slowloris_limited")


def limited_settings(connections: int) -> dict[str, str]:
    """slowloris_limited's server: --limit-concurrency at half the slow connections, a defence
    uvicorn has and the variants do not set, to measure why (given through uvicorn's UVICORN_*
    environment variables, the prefix of its command line's options)."""
    return {"UVICORN_LIMIT_CONCURRENCY": str(connections // 2)}


# Scenarios served by a server of their own, with the uvicorn settings these give.
OWN_SERVER = {"slowloris_limited": limited_settings}


class HostileClientError(RuntimeError):
    """The scenario could not be set up (too few file descriptors, an unknown scenario)."""


@dataclass
class Recorder:
    """Latencies (s) and failures (text) of repeated requests, shared with a thread."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        return {
            "answered": len(ordered),
            "failures": len(self.failures),
            "failure_examples": self.failures[:3],
            "p50_ms": quantile_ms(ordered, 0.50),
            "p99_ms": quantile_ms(ordered, 0.99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        }


def quantile_ms(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return round(ordered[0] * 1000, 2)
    return round(
        statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1] * 1000, 2
    )


# --- the requests that must keep working ---------------------------------------------------


@dataclass(frozen=True)
class RealRequest:
    method: str
    path: str
    body: bytes | None
    check: Callable[[int, bytes], str | None]  # (status, body) -> what is wrong, or None


def check_fib(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"GET /fib/{FIB_N}: status {status}"
    result = json.loads(body).get("result")
    return None if result == FIB_10 else f"GET /fib/{FIB_N}: result {result!r}, expected {FIB_10}"


def golden_score_request() -> RealRequest:
    from fraud_scoring.golden import answer_differences, load_corpus

    case = load_corpus()["cases"][0]

    def check(status: int, body: bytes) -> str | None:
        if status != 200:
            return f"POST /score: status {status}: {body[:200]!r}"
        wrong = answer_differences(case["name"], case["expected"], json.loads(body))
        return "; ".join(wrong) or None

    return RealRequest("POST", "/score", json.dumps(case["request"]).encode(), check)


def real_request_for(variant: Variant) -> RealRequest:
    if variant.workload == "scoring":
        return golden_score_request()
    return RealRequest("GET", f"/fib/{FIB_N}", None, check_fib)


def timed_request(
    port: int, method: str, path: str, body: bytes | None
) -> tuple[int, bytes, float]:
    """One request on a fresh connection: (status, body, seconds)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=PROBE_TIMEOUT)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, payload, time.perf_counter() - started
    finally:
        connection.close()


def repeat_until(stop: threading.Event, interval: float, once: Callable[[], None]) -> None:
    while not stop.is_set():
        once()
        stop.wait(interval)


def probe_health(port: int, path: str, recorder: Recorder) -> None:
    try:
        status, _, seconds = timed_request(port, "GET", path, None)
    except (OSError, http.client.HTTPException) as error:
        recorder.failures.append(f"{type(error).__name__}: {error}")
        return
    if status == 200:
        recorder.latencies.append(seconds)
    else:
        recorder.failures.append(f"GET {path}: status {status}")


def send_real(port: int, real: RealRequest, recorder: Recorder) -> None:
    try:
        status, payload, seconds = timed_request(port, real.method, real.path, real.body)
    except (OSError, http.client.HTTPException) as error:
        recorder.failures.append(f"{type(error).__name__}: {error}")
        return
    wrong = real.check(status, payload)
    if wrong:
        recorder.failures.append(wrong)
    else:
        recorder.latencies.append(seconds)


@contextmanager
def watched(port: int, real: RealRequest, health_path: str) -> Iterator[tuple[Recorder, Recorder]]:
    """The /health probe and the real stream, running for the duration of the block."""
    health, served, stop = Recorder(), Recorder(), threading.Event()
    threads = [
        threading.Thread(
            target=repeat_until,
            args=(stop, PROBE_INTERVAL, lambda: probe_health(port, health_path, health)),
        ),
        threading.Thread(
            target=repeat_until, args=(stop, REAL_INTERVAL, lambda: send_real(port, real, served))
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        yield health, served
    finally:
        stop.set()
        for thread in threads:
            thread.join()


# --- hostile clients -----------------------------------------------------------------------


def connect(port: int) -> socket.socket:
    return socket.create_connection((LOOPBACK, port), timeout=HOSTILE_TIMEOUT)


def server_closed(sock: socket.socket) -> bool:
    """Whether the server has closed `sock` (EOF or reset), without waiting: what is still unread
    (the rest of an earlier answer) is read first, so only the end of the stream counts."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True  # recv returned b"": the end of the stream
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def slowloris(port: int, connections: int, seconds: float) -> dict:
    """`connections` sockets trickle one header byte each every TRICKLE_INTERVAL s, never ending
    the request's head; how many the server closed or answered meanwhile."""
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    sockets, trickled, closed = [], 0, 0
    try:
        for _ in range(connections):
            sockets.append(connect(port))
        for sock in sockets:
            sock.sendall(head[:1])
        deadline, position = time.monotonic() + seconds, 1
        while time.monotonic() < deadline:
            time.sleep(TRICKLE_INTERVAL)
            byte = head[position : position + 1] or b"a"  # after the head, an endless header value
            position += 1
            for sock in list(sockets):
                try:
                    sock.sendall(byte)
                    trickled += 1
                except OSError:
                    sockets.remove(sock)
                    sock.close()
                    closed += 1
        closed += sum(server_closed(sock) for sock in sockets)
        return {"opened": connections, "bytes_trickled": trickled, "closed_by_server": closed}
    finally:
        for sock in sockets:
            sock.close()


def idle_keepalive(port: int, connections: int, seconds: float) -> dict:
    """`connections` keep-alive connections, one GET /health each, then idle for `seconds`."""
    sockets, statuses = [], Counter()
    try:
        for _ in range(connections):
            sock = connect(port)
            sockets.append(sock)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for sock in sockets:
            statuses[first_status(sock)] += 1
        time.sleep(seconds)
        closed = sum(server_closed(sock) for sock in sockets)
        return {"opened": connections, "first_answers": dict(statuses), "closed_by_server": closed}
    finally:
        for sock in sockets:
            sock.close()


def first_status(sock: socket.socket) -> str:
    """The status code of the first response on `sock`, "closed" or "hang"."""
    received = b""
    try:
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                return "closed"
            received += chunk
    except TimeoutError:
        return "hang"
    except OSError:
        return "closed"
    return received.split(b" ", 2)[1].decode("ascii", "replace")


def send_raw(port: int, request: bytes) -> str:
    """Send `request` whole (the server may close mid-way) and return what it got."""
    with connect(port) as sock:
        with suppress(OSError):  # closed or reset mid-request: any answer is read below
            sock.sendall(request)
        return first_status(sock)


def oversized_requests(variant: Variant) -> dict[str, bytes]:
    """The oversized header goes with the variant's own real request (for the scoring service a
    valid JSON body, so its answer says whether the header itself was refused)."""
    padding = b"x" * OVERSIZED_HEADER_BYTES
    real = real_request_for(variant)
    body = real.body or b""
    content_type = b"Content-Type: application/json\r\n" if real.body else b""
    requests = {
        "header_100kB": f"{real.method} {real.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + content_type + b"Content-Length: %d\r\nX-Padding: " % len(body) + padding
        + b"\r\n\r\n" + body,
    }  # fmt: skip
    if variant.workload == "scoring":
        from scoring_validation import MAX_BODY_BYTES

        body = b'{"pad": "' + b"x" * (MAX_BODY_BYTES + 1024) + b'"}'
        for name, length in (("body_over_limit", len(body)), ("body_over_limit_chunked", None)):
            framing = (
                f"Content-Length: {length}".encode() if length else b"Transfer-Encoding: chunked"
            )
            payload = body if length else b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            requests[name] = (
                b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + framing + b"\r\n\r\n" + payload
            )  # fmt: skip
    return requests


def oversized(port: int, variant: Variant, seconds: float) -> dict:
    """Each oversized request, repeated for `seconds`: the answers it got, counted."""
    answers: dict[str, Counter] = {name: Counter() for name in oversized_requests(variant)}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, request in oversized_requests(variant).items():
            answers[name][send_raw(port, request)] += 1
        time.sleep(REAL_INTERVAL)
    return {name: dict(counts) for name, counts in answers.items()}


def health_flood(port: int, seconds: float) -> dict:
    """FLOOD_THREADS threads asking /health back to back on keep-alive connections."""
    counts = Counter()
    lock, deadline = threading.Lock(), time.monotonic() + seconds

    def flood() -> None:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=PROBE_TIMEOUT)
        try:
            while time.monotonic() < deadline:
                try:
                    connection.request("GET", "/health")
                    outcome = str(connection.getresponse().read() and 200)
                except (OSError, http.client.HTTPException) as error:
                    outcome = type(error).__name__
                    connection.close()
                with lock:
                    counts[outcome] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=flood) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"threads": FLOOD_THREADS, "answers": dict(counts)}


# --- the measurement -----------------------------------------------------------------------


def descriptor_limit(connections: int, say: Callable[[str], None]) -> dict:
    """Check RLIMIT_NOFILE for `connections` sockets (the server inherits it): raise the soft
    limit up to the hard one if needed, else HostileClientError."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + FD_MARGIN
    unlimited = hard == resource.RLIM_INFINITY
    if soft != resource.RLIM_INFINITY and soft < needed:
        if not unlimited and hard < needed:
            raise HostileClientError(
                f"{connections} connections need about {needed} file descriptors; "
                f"RLIMIT_NOFILE is {soft} (hard {hard}): use fewer connections or raise ulimit -n"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        say(f"raised the soft file-descriptor limit from {soft} to {needed}")
        soft = needed
    say(f"file descriptors: soft limit {soft}, hard {hard}, about {needed} needed")
    return {"soft": soft, "hard": hard, "needed": needed}


def run_scenario(
    server: RunningServer, scenario: str, *, connections: int, seconds: float, health_path: str
) -> dict:
    """One scenario against a running server, watched by the /health probe and real requests."""
    port, variant = server.port, server.variant
    hostile: dict[str, Callable[[], dict]] = {
        "slowloris": lambda: slowloris(port, connections, seconds),
        "slowloris_limited": lambda: slowloris(port, connections, seconds),
        "idle_keepalive": lambda: idle_keepalive(port, connections, seconds),
        "oversized": lambda: oversized(port, variant, seconds),
        "health_flood": lambda: health_flood(port, seconds),
    }
    if scenario not in hostile:
        raise HostileClientError(f"unknown scenario {scenario!r}; the scenarios are {SCENARIOS}")
    with watched(port, real_request_for(variant), health_path) as (health, served):
        got = hostile[scenario]()
    return {
        "health": health.summary(),
        "real": {"served": len(served.latencies), "failed": len(served.failures),
                 "failure_examples": served.failures[:3]},
        "hostile": got,
    }  # fmt: skip


def measure_hostile_clients(
    variant: Variant,
    *,
    connections: int = 300,
    seconds: float = 8.0,
    say: Callable[[str], None] = print,
    scenarios: tuple[str, ...] = SCENARIOS,
    health_path: str = "/health",
) -> dict:
    """Start `variant` (one worker) and run each of `scenarios` for `seconds` against it.

    Returns {"variant", "connections", "seconds", "file_descriptors": {"soft", "hard", "needed"},
    "scenarios": {name: {"health": {"answered", "failures", "failure_examples", "p50_ms",
    "p99_ms", "max_ms"}, "real": {"served", "failed", "failure_examples"}, "hostile": {...}}}};
    "hostile" is, per scenario: slowloris {"opened", "bytes_trickled", "closed_by_server"},
    idle_keepalive {"opened", "first_answers", "closed_by_server"}, oversized {request: {answer:
    count}} (an answer is a status code, "closed" or "hang"), health_flood {"threads", "answers"}.
    """
    limits = descriptor_limit(connections, say)
    results = {}

    def run(server: RunningServer, scenario: str) -> None:
        say(f"{variant.name}: {scenario} for {seconds:g} s")
        results[scenario] = run_scenario(
            server, scenario, connections=connections, seconds=seconds, health_path=health_path
        )
        say(f"{variant.name}: {scenario}: {json.dumps(results[scenario])}")

    with running_server(variant, workers=1) as server:
        for scenario in scenarios:
            if scenario not in OWN_SERVER:
                run(server, scenario)
    for scenario in [name for name in scenarios if name in OWN_SERVER]:
        settings = OWN_SERVER[scenario](connections)
        with running_server(variant, workers=1, env=settings) as server:
            run(server, scenario)
        results[scenario]["settings"] = settings
    return {
        "variant": variant.name,
        "connections": connections,
        "seconds": seconds,
        "file_descriptors": limits,
        "scenarios": results,
    }
