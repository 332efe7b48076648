"""Two faults a deployed service meets under load: a worker killed, and a graceful shutdown (by a
signal to uvicorn's supervisor, or as `docker compose stop` does it: StopPlan).

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
stuck request holds the shutdown forever; the variants serve with a bound
(variants.GRACEFUL_SHUTDOWN_SECONDS), which each shutdown entry records.
https://github.com/encode/uvicorn/blob/master/uvicorn/server.py

Both run on every variant of both services: the fib apps' load is GET /fib/10 and their in-flight
requests compute a long fib(n); the scoring service's load is the case study's rotating bodies and
its in-flight requests are POST /score whose body is only half sent when the signal comes (a
request a worker has begun to read), the rest sent a second later: each must still be scored right.

Both return JSON-able dicts ({"status": "ok" | "failed" | "unsupported", ...}), record a
misbehaving server instead of raising, and stop everything they started by process group, on
Ctrl-C as well.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from benchmarks.reliability_requests import InFlight, in_flight_requests, steady_load_plan
from benchmarks.servers import RunningServer, ServerError, start_server, wait_until_healthy
from benchmarks.wrk import WrkError, WrkPlan, parse_wrk_output, run_wrk, wrk_command
from processes import LOOPBACK, group_members, http_get, start_group, stop_group
from variants import GRACEFUL_SHUTDOWN_SECONDS, Variant

Say = Callable[[str], None]
WORKERS = 2
STARTUP_LINE = "Application startup complete."  # uvicorn logs it once per worker that serves
LONG_FIB_MAX_N = "45"  # FIB_MAX_N for the shutdown run: the default (35) refuses PyPy's fib(40)
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
    server: RunningServer | None = None
    try:
        server = start_server(variant, workers=WORKERS)
        wait_until_healthy(server)
        say(f"{variant.name}: {WORKERS} workers up, loading for {seconds} s")
        with steady_load_plan(variant, server.base_url, connections, 1) as plan:
            result.update(_kill_under_load(server, plan, seconds, kill_after, say))
    except (ServerError, WrkError, OSError) as error:
        result.update(status="failed", reason=str(error))
    finally:
        if server is not None:
            result["left_behind"] = stop_group(server.process)
    return result


def _kill_under_load(
    server: RunningServer, plan: WrkPlan, seconds: int, kill_after: float, say: Say
) -> dict:
    runs: list[dict] = []
    stop = threading.Event()
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


@dataclass(frozen=True)
class StopPlan:
    """How the server is stopped: its supervisor signalled, as a process manager or `make` would;
    or `docker compose stop` emulated without an engine: the image's command (`sh -c "exec python
    serve.py ..."`) run as PID 1 of a PID namespace of its own (util-linux unshare), SIGTERM to
    that PID 1 alone, SIGKILL to it after the compose file's stop_grace_period (when PID 1 dies,
    the kernel kills the rest of its namespace). A PID 1 receives only the signals it has a
    handler for (pid_namespaces(7)): serve.py installs one before anything else."""

    description: str
    as_pid1: bool = False
    kill_after_seconds: float | None = None
    # One more POST /score that sends half its body and never the rest: the request that only
    # --timeout-graceful-shutdown ends (the scoring service only; a GET has no body to wait for).
    stuck_upload: bool = False


SUPERVISOR_SIGTERM = StopPlan("SIGTERM to uvicorn's supervisor")


def container_stop_plan() -> StopPlan:
    from docker_files import duration_seconds, load_compose

    grace = duration_seconds(load_compose()["x-service"]["stop_grace_period"])
    return StopPlan(
        f"docker compose stop: SIGTERM to PID 1, SIGKILL after {grace:g} s",
        as_pid1=True, kill_after_seconds=grace, stuck_upload=True,
    )  # fmt: skip


def as_pid1(command: list[str]) -> list[str]:
    """`command` as the image runs it (`sh -c "exec ..."`), PID 1 of a new PID namespace."""
    return ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", 'exec "$@"', "sh", *command]


def measure_container_stop(variant: Variant, *, say: Say = print) -> dict:
    """measure_graceful_shutdown as `docker compose stop` does it (container_stop_plan)."""
    return measure_graceful_shutdown(variant, stop=container_stop_plan(), say=say)


def measure_graceful_shutdown(
    variant: Variant,
    *,
    load_seconds: float = 3.0,
    clients: int = 4,
    stop: StopPlan = SUPERVISOR_SIGTERM,
    say: Say = print,
) -> dict:
    """SIGTERM `variant`'s main process under wrk load with `clients` long requests in flight:
    did each complete with 200 and the right answer, how did a new connection fare, how long until
    the process group exited, and is anything of it left."""
    result: dict = {"variant": variant.name, "workers": WORKERS, "clients": clients}
    result["timeout_graceful_shutdown_seconds"] = GRACEFUL_SHUTDOWN_SECONDS
    result["stop"] = stop.description
    server: RunningServer | None = None
    wrk: subprocess.Popen | None = None
    try:
        wrap = as_pid1 if stop.as_pid1 else None
        env = {"FIB_MAX_N": LONG_FIB_MAX_N}
        server = start_server(variant, workers=WORKERS, env=env, wrap=wrap)
        wait_until_healthy(server)
        requests = in_flight_requests(variant, server.base_url, clients)
        requests.warm_up()  # the cost model, PyPy's JIT: a long request is long from the start
        with steady_load_plan(variant, server.base_url, 4, int(load_seconds) + 2) as plan:
            wrk = start_group(
                wrk_command(plan), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )  # still loading when the signal comes
            time.sleep(load_seconds / 2)
            say(f"{variant.name}: {clients} requests ({requests.description}) in flight, SIGTERM")
            result.update(_terminate_under_load(server, requests, stop))
            result["wrk"] = _finish_wrk(wrk)
    except (ServerError, WrkError, OSError) as error:
        result.update(status="failed", reason=str(error))
    finally:
        if wrk is not None:
            stop_group(wrk, grace=0)
        if server is not None:
            result["left_behind"] = stop_group(server.process)
    return result


def _finish_wrk(wrk: subprocess.Popen) -> dict:
    try:
        stdout, stderr = wrk.communicate(timeout=30)
        return parse_wrk_output(stdout, stderr, wrk.returncode)
    except (subprocess.TimeoutExpired, WrkError) as error:
        return {"error": str(error)}


def _terminate_under_load(server: RunningServer, requests: InFlight, stop: StopPlan) -> dict:
    pgid = server.process.pid
    target = _pid1(server) if stop.as_pid1 else pgid
    exiting = threading.Event()
    stuck = _stuck_upload(requests) if stop.stuck_upload and requests.stuck else None
    threads = requests.start()
    time.sleep(0.2)  # sent and accepted: each computes, or waits for the rest of its body
    signalled = time.monotonic()
    os.kill(target, signal.SIGTERM)
    requests.release_after_signal()
    probes: list[dict] = []
    prober = threading.Thread(target=_probe_until, args=(server.port, signalled, probes, exiting))
    prober.start()
    try:
        exited, killed = _await_exit(pgid, target, signalled, stop.kill_after_seconds)
    finally:
        exiting.set()
        prober.join()
    for thread in [*threads, *([stuck[0]] if stuck else [])]:
        thread.join(timeout=30)
    answers = requests.answers
    completed = [answer for answer in answers if answer.get("right")]
    # A request still in the supervisor's listen backlog when the workers stop is reset when it
    # exits (no worker accepts it any more): uvicorn promises nothing for it. Anything else that
    # did not complete right is a failure.
    reset = [a for a in answers if "status" not in a and "ConnectionReset" in a.get("error", "")]
    left = [member.pid for member in group_members(pgid)]
    hung = any(probe["outcome"] == "hung" for probe in probes)
    waited = max((p["seconds"] for p in probes if p["outcome"] in ("reset", "closed")), default=0)
    settled = len(completed) + len(reset) == len(answers) and bool(completed)
    ok = settled and exited is not None and killed is None and not left and not hung
    return {
        "status": "ok" if ok else "failed",
        "in_flight_request": requests.description,
        "in_flight": answers,
        "completed_200": len(completed),
        "reset_in_backlog": len(reset),
        "new_connections_after_signal": probes,
        "new_connection_hung": hung,
        "new_connection_longest_wait_seconds": waited,
        "group_exit_seconds": exited,
        "sigkill_after_seconds": killed,
        "stuck_upload": stuck[1] if stuck else None,
        "left_in_group": left,
        "notes": _shutdown_notes(ok, waited),
    }


def _shutdown_notes(ok: bool, waited: float) -> list[str]:
    notes = [] if ok else ["a request failed, a new connection hung, or the group stayed"]
    if waited > 1:
        notes.append(
            "new connections after the signal waited in the supervisor's listen backlog until it"
            " exited, then were reset: as long as the in-flight requests take, at most"
            f" --timeout-graceful-shutdown ({GRACEFUL_SHUTDOWN_SECONDS} s here)"
        )
    return notes


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


def _await_exit(
    pgid: int, target: int, since: float, kill_after: float | None
) -> tuple[float | None, float | None]:
    """Seconds until the group exited (None: not within EXIT_LIMIT_SECONDS), and when `target`
    was sent SIGKILL, as Docker does after the stop grace period (None: it was not needed)."""
    if kill_after is None:
        return _seconds_until_group_exits(pgid, since, EXIT_LIMIT_SECONDS), None
    exited = _seconds_until_group_exits(pgid, since, kill_after)
    if exited is not None:
        return exited, None
    with suppress(ProcessLookupError):
        os.kill(target, signal.SIGKILL)
    return _seconds_until_group_exits(pgid, since, EXIT_LIMIT_SECONDS), time.monotonic() - since


def _pid1(server: RunningServer) -> int:
    """The host pid of the namespace's PID 1: unshare's one child (serve.py, then uvicorn)."""
    import psutil

    children = psutil.Process(server.process.pid).children()
    if len(children) != 1:
        raise ServerError(f"unshare has {len(children)} children, not the one PID 1")
    return children[0].pid


def _stuck_upload(requests: InFlight) -> tuple[threading.Thread, dict]:
    """The workload's request that never completes, started before the signal: uvicorn's shutdown
    waits for it until --timeout-graceful-shutdown, then cancels it. Its answer dict gets what the
    client saw and when (seconds since it started)."""
    answer: dict = {}
    thread = threading.Thread(target=requests.stuck, args=(answer,))
    thread.start()
    return thread, answer
