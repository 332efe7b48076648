"""Start, health-wait, pin, stop and reap a variant's server.

A server is started exactly as `make run-NAME` starts it (serve.py, which execs uvicorn), in a
process group of its own, so stopping it signals the whole group: the uvicorn supervisor and every
worker it spawned. Stopping checks that nothing of the group is left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from processes import (
    LOOPBACK,
    ProcessError,
    free_port,
    group_members,
    is_spawned_worker,
    start_group,
    stop_group,
    wait_for_health,
)
from variants import ROOT, Variant, server_command, server_environment

SERVE_SCRIPT = ROOT / "serve.py"


class ServerError(RuntimeError):
    """A server did not start, did not become healthy, or left processes behind."""


@dataclass
class RunningServer:
    variant: Variant
    port: int
    process: subprocess.Popen  # the leader of the server's process group
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
        spawned = [p for p in members if is_spawned_worker(p)]
        return spawned or [p for p in members if p.pid == self.process.pid]

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(
    variant: Variant,
    *,
    port: int | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    direct: bool = False,
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> RunningServer:
    """Start `variant` on 127.0.0.1 (not yet healthy: see wait_until_healthy).

    `env` adds or overrides environment variables (FIB_MAX_N, ...); `cpus` pins the server and
    every worker it spawns to those cores. `direct` runs its uvicorn command without serve.py,
    for a configuration that is not a variant of the table (the ladder's apps and stacks).
    `wrap` changes the command (the profiler runs PyPy's uvicorn under vmprof; the container-stop
    emulation runs serve.py as PID 1 of a PID namespace).
    """
    port = free_port() if port is None else port
    server_env = dict(os.environ, HOST=LOOPBACK, PORT=str(port), WORKERS=str(workers))
    server_env.update(env or {})
    if direct:
        command = server_command(variant, LOOPBACK, port, workers)
        server_env = server_environment(server_env, variant)
    else:
        command = [sys.executable, str(SERVE_SCRIPT), variant.name]
    command = wrap(command) if wrap else command
    log_fd, log_name = tempfile.mkstemp(prefix=f"{variant.name}-", suffix=".log")
    with os.fdopen(log_fd, "w") as log:
        process = start_group(command, cpus=cpus, cwd=ROOT, env=server_env, stdout=log, stderr=log)
    return RunningServer(variant=variant, port=port, process=process, log_path=Path(log_name))


def wait_until_healthy(server: RunningServer, timeout: float = 60.0) -> dict:
    """Poll GET /health until it answers 200; return its JSON. ServerError if the server exits."""
    try:
        return wait_for_health(server.base_url, timeout, server.process)
    except ProcessError as error:
        raise ServerError(f"{server.variant.name}: {error}:\n{server.log_tail()}") from None


def stop_server(server: RunningServer, grace: float = 5.0) -> None:
    """Stop the server's whole process group and check that nothing of it is left."""
    left = stop_group(server.process, grace)
    if left:
        raise ServerError(f"{server.variant.name}: processes left behind: {left}")
    server.log_path.unlink(missing_ok=True)


@contextmanager
def running_server(variant: Variant, **options) -> Iterator[RunningServer]:
    """A healthy server for the duration of the block, stopped however the block ends."""
    server = start_server(variant, **options)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop_server(server)
