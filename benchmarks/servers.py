"""Start, health-wait, pin, stop and reap a variant's server.

A server is started exactly as `make run-NAME` starts it (serve.py, which execs uvicorn), in a
process group of its own, so stopping it signals the whole group: the uvicorn supervisor and every
worker it spawned. Stopping checks that nothing of the group is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

from variants import ROOT, Variant, server_command, server_environment

SERVE_SCRIPT = ROOT / "serve.py"
LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start, did not become healthy, or left processes behind."""


@dataclass
class RunningServer:
    variant: Variant
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def processes(self) -> list[psutil.Process]:
        """The server's processes: the supervisor (or single worker) and its workers."""
        return group_members(self.process.pid)

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests: uvicorn's spawned workers, else the single process."""
        members = self.processes()
        spawned = [p for p in members if _is_spawned_worker(p)]
        return spawned or [p for p in members if p.pid == self.process.pid]

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _is_spawned_worker(process: psutil.Process) -> bool:
    try:
        return any("spawn_main" in part for part in process.cmdline())
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Every live process in process group `pgid`."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def start_server(
    variant: Variant,
    *,
    port: int | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    direct: bool = False,
) -> RunningServer:
    """Start `variant` on 127.0.0.1 (not yet healthy: see wait_until_healthy).

    `env` adds or overrides environment variables (FIB_MAX_N, ...); `cpus` pins the server and
    every worker it spawns to those cores. `direct` runs its uvicorn command without serve.py,
    for a configuration that is not a variant of the table (the ladder's apps and stacks).
    """
    port = free_port() if port is None else port
    server_env = dict(os.environ, HOST=LOOPBACK, PORT=str(port), WORKERS=str(workers))
    server_env.update(env or {})
    if direct:
        command = server_command(variant, LOOPBACK, port, workers)
        server_env = server_environment(server_env, variant)
    else:
        command = [sys.executable, str(SERVE_SCRIPT), variant.name]
    log_fd, log_name = tempfile.mkstemp(prefix=f"{variant.name}-", suffix=".log")

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with os.fdopen(log_fd, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which stop_server signals
            preexec_fn=pin if cpus else None,
        )
    return RunningServer(variant=variant, port=port, process=process, log_path=Path(log_name))


def health(base_url: str) -> dict | None:
    """The JSON of GET /health if it answers 200 now, else None."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
            if response.status == 200:
                return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass
    return None


def wait_until_healthy(server: RunningServer, timeout: float = 60.0) -> dict:
    """Poll GET /health until it answers 200; return its JSON. ServerError if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.variant.name}: exited with code {server.process.returncode} before it "
                f"was healthy:\n{server.log_tail()}"
            )
        body = health(server.base_url)
        if body is not None:
            return body
        time.sleep(0.1)
    raise ServerError(
        f"{server.variant.name}: /health did not answer within {timeout:.0f} s:\n"
        + server.log_tail()
    )


def wait_for_health(base_url: str, timeout: float = 30.0) -> None:
    """Wait for a server we did not start (e.g. a compose stack) to answer GET /health."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(base_url) is not None:
            return
        time.sleep(0.2)
    raise ServerError(f"no server answers GET {base_url}/health after {timeout:.0f} s")


def stop_process_group(process: subprocess.Popen, grace: float = 5.0) -> list[int]:
    """SIGTERM the group `process` leads, SIGKILL what is left after `grace` s; the pids of any
    process of the group still alive after that (none, normally)."""
    pgid = process.pid  # started with start_new_session: the leader's pid is the group's id
    members = group_members(pgid)
    _signal_group(pgid, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=grace)
    if alive:
        _signal_group(pgid, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    return [member.pid for member in group_members(pgid)]


def stop_server(server: RunningServer, grace: float = 5.0) -> None:
    """Stop the server's whole process group and check that nothing of it is left."""
    left = stop_process_group(server.process, grace)
    if left:
        raise ServerError(f"{server.variant.name}: processes left behind: {left}")
    server.log_path.unlink(missing_ok=True)


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


@contextmanager
def running_server(variant: Variant, **options) -> Iterator[RunningServer]:
    """A healthy server for the duration of the block, stopped however the block ends."""
    server = start_server(variant, **options)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop_server(server)
