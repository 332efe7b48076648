"""What a result depends on, recorded with it: machine, kernel, interpreters and their packages,
tools, git commit, pinning and the command line."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

from variants import INTERPRETERS, ROOT

PACKAGES = (
    "fastapi", "starlette", "pydantic", "pydantic-core", "uvicorn", "anyio", "h11", "uvloop",
    "httptools", "Cython",
)  # fmt: skip


# Run under each interpreter: its runtime string (the app's own) and its package versions.
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def machine() -> dict:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": os_name(),
    }


def interpreter_info(name: str) -> dict:
    """{"runtime", "packages"} of one interpreter, or {"error"} if it cannot say."""
    path = INTERPRETERS[name]
    if not path.exists():
        return {"error": f"{path} is missing (run `make setup`)"}
    completed = subprocess.run(
        [str(path), "-m", "benchmarks.interpreter_probe", *PACKAGES],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    return json.loads(completed.stdout)


def _git(*args: str) -> str | None:
    try:
        completed = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def gcc_version() -> str | None:
    try:
        output = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True)
    except OSError:
        return None
    return output.stdout.strip() or None


def collect_environment(pinning: dict, tools: dict, settings: dict) -> dict:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    return {
        "started_at": None,
        "finished_at": None,
        "duration_seconds": None,
        "command_line": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git_commit": commit,
        "git_dirty": bool(status) if status is not None else None,
        "machine": machine(),
        "pinning": pinning,
        "interpreters": {name: interpreter_info(name) for name in INTERPRETERS},
        "tools": {**tools, "gcc": gcc_version()},
        "settings": settings,
    }
