"""What a running server really is, read from its processes with psutil (not recomputed from
variants.py): the command and interpreter, where it listens, its users, its workers with their
environment and the C extensions they loaded, and its memory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

from processes import group_members, is_spawned_worker


@dataclass
class ServerProcesses:
    """A serving uvicorn's process group: its supervisor (the leader) and its workers."""

    command: list[str]  # the process group leader's command line
    executable: str  # the interpreter it runs, symlinks resolved
    listening: list[tuple[str, int]]  # the TCP addresses its processes listen on
    uids: set[int]
    worker_count: int  # uvicorn's spawned worker processes
    worker_environments: list[dict[str, str]]  # each worker's PYPY_* environment variables
    extension_packages: set[str]  # installed packages whose C extensions the workers mapped
    app_extensions: set[str]  # the app's own compiled modules the workers mapped
    pss_mb: float  # every process of the group
    supervisor_pss_mb: float  # every process of the group that is not a worker


def read_server_processes(pgid: int, app_dir: str) -> ServerProcesses:
    """The processes of the group `pgid` leads; the app's own extensions are those under
    `app_dir`."""
    leader = psutil.Process(pgid)
    members = group_members(pgid)
    workers = [p for p in members if is_spawned_worker(p)]
    listening = {
        (connection.laddr.ip, connection.laddr.port)
        for process in members
        for connection in process.net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN
    }
    mapped = {m.path for p in workers or [leader] for m in p.memory_maps(grouped=True)}
    libraries = [path for path in mapped if path.endswith(".so")]
    pss_mb = {p.pid: p.memory_full_info().pss / 2**20 for p in members}
    worker_pids = {p.pid for p in workers}
    return ServerProcesses(
        command=leader.cmdline(),
        executable=os.path.realpath(leader.exe()),
        listening=sorted(listening),
        uids={p.uids().real for p in members},
        worker_count=len(workers),
        worker_environments=[
            {k: v for k, v in p.environ().items() if k.startswith("PYPY_")} for p in workers
        ],
        extension_packages={
            path.split("/site-packages/", 1)[1].split("/")[0]
            for path in libraries
            if "/site-packages/" in path
        },
        app_extensions={
            Path(path).name.split(".")[0] for path in libraries if path.startswith(app_dir + "/")
        },
        pss_mb=sum(pss_mb.values()),
        supervisor_pss_mb=sum(pss for pid, pss in pss_mb.items() if pid not in worker_pids),
    )
