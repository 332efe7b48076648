"""Two faults a deployed service meets under load: a worker killed, and a graceful shutdown.

measure_killed_worker: 2 workers under steady wrk load, one of them `kill -9`ed. uvicorn's
supervisor replaces a dead worker on both installed versions: Multiprocess.run polls every 0.5 s
(`while not self.should_exit.wait(0.5)`) and keep_subprocess_alive starts a new Process for any
worker that fails is_alive (uvicorn 0.54, CPython venv: uvicorn/supervisors/multiprocess.py lines
214-239; uvicorn 0.39, PyPy venv: the same file, lines 162-179; 0.54 only adds: a worker that exits
with STARTUP_FAILURE stops the parent instead of being restarted). The new worker serves once its
app has started; requests in flight on the killed worker fail (wrk counts them as read errors).

measure_graceful_shutdown: SIGTERM to the server's main process (the supervisor) while long
requests are in flight. The supervisor SIGTERMs each worker and joins it; each worker closes its
listening socket, lets in-flight responses finish and exits (uvicorn/server.py, Server.shutdown).
uvicorn's --timeout-graceful-shutdown defaults to None (uvicorn/main.py), and Server.shutdown then
waits for the in-flight requests with `asyncio.wait_for(..., timeout=None)`: without a bound, a
stuck request holds the shutdown forever.
https://github.com/encode/uvicorn/blob/master/uvicorn/server.py

Both return JSON-able dicts ({"status": "ok" | "failed" | "unsupported", ...}), record a
misbehaving server instead of raising, and stop everything they started by process group, on
Ctrl-C as well.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from benchmarks.servers import RunningServer, ServerError, start_server, wait_until_healthy
from benchmarks.wrk import WrkError, WrkPlan, parse_wrk_output, run_wrk, wrk_command
from processes import LOOPBACK, group_members, http_get, start_group, stop_group
from variants import Variant

Say = Callable[[str], None]
WORKERS = 2
CHEAP_PATH = "/fib/10"
STARTUP_LINE = "Application startup complete."  # uvicorn logs it once per worker that serves
# fib(n) taking about half a second (CPython 3.11: fib(34); PyPy's JIT: fib(40)), so a request
# sent just before the signal is still computing when it arrives.
LONG_N = {"cpython": 34, "pypy": 40}
LONG_FIB_MAX_N = "45"  # FIB_MAX_N for the shutdown run: the default (35) refuses fib(40)
EXIT_LIMIT_SECONDS = 30.0  # a group that takes longer to exit counts as not exiting
PROBE_SECONDS = EXIT_LIMIT_SECONDS + 5  # a probe open this long outlived the group: it hung


def measure_killed_worker(
    variant: Variant,
    *,
    seconds: int = 12,
    kill_after: float = 4.0,
    connections: int = 8,
    say: Say = print,
) -> dict:
    """Load `variant` (2 workers) for `seconds` in 1-second wrk runs and kill -9 one worker at
    `kill_after` s: was it replaced, how soon did the server answer and recover its requests/s,
    and how many requests failed."""
    result: dict = {"variant": variant.name, "workers": WORKERS, "connections": connections}
    if variant.workload != "fib":
        return {**result, "status": "unsupported", "notes": ["fib variants only (GET /fib/10)"]}
    server: RunningServer | None = None
    try:
        server = start_server(variant, workers=WORKERS)
        wait_until_healthy(server)
        say(f"{variant.name}: {WORKERS} workers up, loading for {seconds} s")
        result.update(_kill_under_load(server, seconds, kill_after, connections, say))
    except (ServerError, WrkError, OSError) as error:
        result.update(status="failed", reason=str(error))
    finally:
        if server is not None:
            result["left_behind"] = stop_group(server.process)
    return result


def _kill_under_load(
    server: RunningServer, seconds: int, kill_after: float, connections: int, say: Say
) -> dict:
    runs: list[dict] = []
    stop = threading.Event()
    plan = WrkPlan(server.base_url + CHEAP_PATH, connections, 1, 2)
    loader = threading.Thread(target=_wrk_each_second, args=(plan, seconds, runs, stop))
    started = time.monotonic()
    loader.start()
    try:
        time.sleep(kill_after)
        before = sorted(worker.pid for worker in server.workers())
        startups_before = _startup_count(server)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        say(f"killed worker {victim}")
        replacement = _await_replacement(server, before, startups_before, killed_at)
        loader.join()
    finally:
        stop.set()
        loader.join()
    return _killed_worker_figures(runs, started, killed_at, victim, before, replacement)


def _wrk_each_second(plan: WrkPlan, seconds: int, runs: list[dict], stop: threading.Event) -> None:
    """1-second wrk runs back to back, each stamped with when it started and ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        began = time.monotonic()
        try:
            record = run_wrk(plan)
        except WrkError as error:
            record = {"error": str(error), "requests_per_second": 0.0, "errors": {}}
        runs.append({**record, "began": began, "ended": time.monotonic()})


def _await_replacement(
    server: RunningServer, before: list[int], startups_before: int, killed_at: float
) -> dict:
    """Poll the worker pids until a new one serves (its startup line is logged), up to 30 s."""
    found: dict = {"replaced": False, "pids_after": [], "new_pids": []}
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        pids = sorted(worker.pid for worker in server.workers())
        new = [pid for pid in pids if pid not in before]
        if new and "replacement_seconds" not in found:
            found["replacement_seconds"] = time.monotonic() - killed_at
        if new and len(pids) == WORKERS and _startup_count(server) > startups_before:
            found.update(replaced=True, pids_after=pids, new_pids=new)
            found["new_worker_ready_seconds"] = time.monotonic() - killed_at
            found["health_seconds"] = _seconds_until_health(server, killed_at)
            return found
        time.sleep(0.05)
    found["pids_after"] = sorted(worker.pid for worker in server.workers())
    return found


def _startup_count(server: RunningServer) -> int:
    text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    return text.count(STARTUP_LINE)


def _seconds_until_health(server: RunningServer, since: float) -> float | None:
    """GET /health until 200 (the workers share one socket: any of them may answer)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with suppress(OSError):
            if http_get(server.base_url + "/health", timeout=2).status == 200:
                return time.monotonic() - since
        time.sleep(0.05)
    return None


def _killed_worker_figures(
    runs: list[dict],
    started: float,
    killed_at: float,
    victim: int,
    before: list[int],
    replacement: dict,
) -> dict:
    steady = [run["requests_per_second"] for run in runs[1:] if run["ended"] <= killed_at]
    before_rps = statistics.median(steady) if steady else None
    recovered = None
    if before_rps:
        for run in runs:
            if run["began"] >= killed_at and run["requests_per_second"] >= 0.9 * before_rps:
                recovered = run["ended"] - killed_at
                break
    failed = sum(_failures(run) for run in runs)
    notes = [] if steady else ["no complete 1-second run before the kill: no steady rate"]
    status = "ok" if replacement["replaced"] else "failed"
    if not replacement["replaced"]:
        notes.append("no replacement worker served within 30 s of the kill")
    return {
        "status": status,
        "killed_pid": victim,
        "kill_at_seconds": killed_at - started,
        "pids_before": before,
        **replacement,
        "requests_per_second_before": before_rps,
        "recovered_within_10_percent_seconds": recovered,
        "failed_requests": failed,
        "per_second": [
            {
                "began_seconds": run["began"] - started,
                "requests_per_second": run["requests_per_second"],
                "failed": _failures(run),
            }
            for run in runs
        ],
        "notes": notes,
    }


def _failures(run: dict) -> int:
    """wrk's socket errors (connect, read, write), timeouts and non-2xx answers."""
    return sum(run.get("errors", {}).values())


def measure_graceful_shutdown(
    variant: Variant, *, load_seconds: float = 3.0, clients: int = 4, say: Say = print
) -> dict:
    """SIGTERM `variant`'s main process under wrk load with `clients` long requests in flight:
    did each complete with 200 and the right value, how did a new connection fare, how long until
    the process group exited, and is anything of it left."""
    result: dict = {"variant": variant.name, "workers": WORKERS, "clients": clients}
    if variant.workload != "fib":
        return {**result, "status": "unsupported", "notes": ["fib variants only (GET /fib/n)"]}
    n = LONG_N[variant.family]
    server: RunningServer | None = None
    wrk: subprocess.Popen | None = None
    try:
        server = start_server(variant, workers=WORKERS, env={"FIB_MAX_N": LONG_FIB_MAX_N})
        wait_until_healthy(server)
        http_get(f"{server.base_url}/fib/{n}", timeout=60)  # warm: the cost model, PyPy's JIT
        wrk = _start_background_wrk(server, load_seconds)
        time.sleep(load_seconds / 2)
        say(f"{variant.name}: {clients} requests for fib({n}) in flight, then SIGTERM")
        result.update(_terminate_under_load(server, n, clients))
        result["wrk"] = _finish_wrk(wrk)
    except (ServerError, WrkError, OSError) as error:
        result.update(status="failed", reason=str(error))
    finally:
        if wrk is not None:
            stop_group(wrk, grace=0)
        if server is not None:
            result["left_behind"] = stop_group(server.process)
    return result


def _start_background_wrk(server: RunningServer, load_seconds: float) -> subprocess.Popen:
    duration = int(load_seconds) + 2  # still loading when the signal comes
    plan = WrkPlan(server.base_url + CHEAP_PATH, 4, duration, 2)
    return start_group(wrk_command(plan), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish_wrk(wrk: subprocess.Popen) -> dict:
    try:
        stdout, stderr = wrk.communicate(timeout=30)
        return parse_wrk_output(stdout, stderr, wrk.returncode)
    except (subprocess.TimeoutExpired, WrkError) as error:
        return {"error": str(error)}


def _terminate_under_load(server: RunningServer, n: int, clients: int) -> dict:
    answers: list[dict] = [{} for _ in range(clients)]
    threads = [
        threading.Thread(target=_long_request, args=(server.port, n, answers[index]))
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # sent and accepted: each computes for about half a second
    pgid = server.process.pid
    signalled = time.monotonic()
    os.kill(pgid, signal.SIGTERM)
    probes: list[dict] = []
    exiting = threading.Event()
    prober = threading.Thread(target=_probe_until, args=(server.port, signalled, probes, exiting))
    prober.start()
    try:
        exited = _seconds_until_group_exits(pgid, signalled, limit=EXIT_LIMIT_SECONDS)
    finally:
        exiting.set()
        prober.join()
    for thread in threads:
        thread.join(timeout=30)
    expected = _fib(n)
    completed = [a for a in answers if a.get("status") == 200 and a.get("result") == expected]
    left = [member.pid for member in group_members(pgid)]
    hung = any(probe["outcome"] == "hung" for probe in probes)
    waited = max((p["seconds"] for p in probes if p["outcome"] in ("reset", "closed")), default=0)
    ok = len(completed) == clients and exited is not None and not left and not hung
    return {
        "status": "ok" if ok else "failed",
        "n": n,
        "in_flight": answers,
        "completed_200": len(completed),
        "new_connections_after_signal": probes,
        "new_connection_hung": hung,
        "new_connection_longest_wait_seconds": waited,
        "group_exit_seconds": exited,
        "left_in_group": left,
        "notes": _shutdown_notes(ok, waited),
    }


def _shutdown_notes(ok: bool, waited: float) -> list[str]:
    notes = [] if ok else ["a request failed, a new connection hung, or the group stayed"]
    if waited > 1:
        notes.append(
            "new connections after the signal waited in the supervisor's listen backlog until it"
            " exited, then were reset: how long is bounded only by the in-flight requests"
            " (uvicorn sets no --timeout-graceful-shutdown by default)"
        )
    return notes


def _long_request(port: int, n: int, answer: dict) -> None:
    """GET /fib/n on a connection of its own; `answer` gets its status and result, or the error."""
    began = time.monotonic()
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        connection.request("GET", f"/fib/{n}")
        response = connection.getresponse()
        body = response.read()
        answer["status"] = response.status
        if response.status == 200:
            answer["result"] = json.loads(body)["result"]
    except (OSError, http.client.HTTPException, ValueError) as error:
        answer["error"] = f"{type(error).__name__}: {error}"
    finally:
        answer["seconds"] = time.monotonic() - began
        connection.close()


def _probe_until(port: int, since: float, probes: list[dict], stop: threading.Event) -> None:
    """A new connection every 0.2 s after the signal until the group is gone. The supervisor acts
    on a signal within 0.5 s (Multiprocess.run), so the first ones may still be served; after
    that its listening socket stays open until it exits, so the kernel queues a new connection
    that no worker accepts: it waits until the supervisor exits, then is reset."""
    while not stop.wait(0.2):
        probes.append({"at_seconds": time.monotonic() - since, **_probe_new_connection(port)})


def _probe_new_connection(port: int, wait: float = PROBE_SECONDS) -> dict:
    """A new connection after the signal: refused, reset, answered, or still open after `wait` s
    (longer than the group may take to exit: then it hung)."""
    began = time.monotonic()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=wait) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = probe.recv(64)
        outcome = data.split(b"\r\n")[0].decode(errors="replace") if data else "closed"
    except ConnectionRefusedError:
        outcome = "refused"
    except ConnectionResetError:
        outcome = "reset"
    except TimeoutError:
        outcome = "hung"
    except OSError as error:
        outcome = f"{type(error).__name__}: {error}"
    return {"outcome": outcome, "seconds": time.monotonic() - began}


def _seconds_until_group_exits(pgid: int, since: float, limit: float) -> float | None:
    while time.monotonic() - since < limit:
        if not group_members(pgid):
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
