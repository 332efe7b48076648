"""The processes this project starts (servers, load generators, benchmark workers), in one place.

Each runs in a process group of its own, optionally pinned to CPUs, and is stopped with its whole
group, so nothing it spawned (uvicorn's workers, pyperf's workers) outlives it. The HTTP GET here
ignores proxy settings: a check of 127.0.0.1 must never be routed through an http_proxy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

LOOPBACK = "127.0.0.1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProcessError(RuntimeError):
    """A process exited, timed out or left members of its group behind."""


def pinning(cpus: Collection[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that pins the child (and all it starts) to `cpus`; None to leave it as is."""
    if not cpus:
        return None
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def start_group(
    command: list[str], *, cpus: Collection[int] | None = None, **popen: Any
) -> subprocess.Popen:
    """Start `command` as the leader of a new process group (its pid is the group's id)."""
    popen.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(command, start_new_session=True, preexec_fn=pinning(cpus), **popen)


def run_group(
    command: list[str], *, timeout: float, cpus: Collection[int] | None = None, **popen: Any
) -> subprocess.CompletedProcess:
    """Run `command` in its own group to the end, its output captured as text; on a timeout the
    whole group is killed and ProcessError raised."""
    process = start_group(
        command, cpus=cpus, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process, grace=0)
        process.communicate()
        raise ProcessError(f"{command[0]}: no result within {timeout:.0f} s") from None
    except BaseException:  # Ctrl-C: nothing of it may stay behind
        stop_group(process, grace=0)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def group_members(pgid: int) -> list[psutil.Process]:
    """Every live process in process group `pgid`."""
    import psutil  # here, not at the top: the HTTP helpers below also serve PyPy, without psutil

    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def is_spawned_worker(process: psutil.Process) -> bool:
    """A worker that uvicorn's supervisor spawned (multiprocessing's spawn_main in its command)."""
    import psutil

    try:
        return any("spawn_main" in part for part in process.cmdline())
    except psutil.Error:
        return False


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> list[int]:
    """SIGTERM the group `process` leads, SIGKILL what is left after `grace` s; the pids of any
    member still alive after that (none, normally)."""
    import psutil

    pgid = process.pid
    members = group_members(pgid)
    _signal_group(pgid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
    _, alive = psutil.wait_procs(members, timeout=grace or 5)
    if alive:
        _signal_group(pgid, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    return [member.pid for member in group_members(pgid)]


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(url: str, timeout: float = 30.0) -> Answer:
    """GET `url` without any proxy; an HTTP error status is an Answer, not an exception."""
    return _answer(urllib.request.Request(url), timeout)


def http_post(
    url: str, body: bytes, content_type: str = "application/json", timeout: float = 30.0
) -> Answer:
    """POST `body` to `url` without any proxy, as http_get does."""
    headers = {"Content-Type": content_type}
    return _answer(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout)


def _answer(request: urllib.request.Request, timeout: float) -> Answer:
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read()
    return Answer(status, {k.lower(): v for k, v in headers.items()}, body)


def healthy(base_url: str) -> Any | None:
    """The JSON of GET /health if it answers 200 now, else None."""
    try:
        answer = http_get(f"{base_url}/health", timeout=2)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return answer.json() if answer.status == 200 else None


def wait_for_health(
    base_url: str, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> Any:
    """Poll GET /health until it answers 200 and return its JSON; ProcessError if `process`
    exits first or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ProcessError(f"exited with code {process.returncode} before it was healthy")
        body = healthy(base_url)
        if body is not None:
            return body
        time.sleep(0.1)
    raise ProcessError(f"GET {base_url}/health did not answer 200 within {timeout:.0f} s")
