"""One wrk run → one dict, read from the JSON that wrk_report.lua prints in wrk's done() hook."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from processes import ProcessError, run_group

REPORT_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"
JSON_PREFIX = "WRK_JSON "


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result."""


@dataclass(frozen=True)
class WrkPlan:
    """How long to run wrk at one point and how long one request may take before it is an error."""

    url: str
    connections: int
    duration_seconds: int
    timeout_seconds: int
    threads: int = 1
    new_connection_per_request: bool = False  # "Connection: close": every request is accepted anew
    script: Path = REPORT_SCRIPT  # a Lua script that prints the report (wrk_report.lua's done)
    script_args: tuple[str, ...] = ()  # what wrk passes to the script's init(args)


def size_point(
    url: str,
    connections: int,
    expected_rps: float,
    base_seconds: float,
    max_seconds: float,
    min_requests: int = 50,
) -> WrkPlan:
    """Long enough for `min_requests` and two answers per connection at the expected rate.

    A closed loop with c connections queues c requests at the server, so a slow point's latency is
    about c / rps: the timeout must be well above that or slow points turn into timeouts.
    """
    rps = max(expected_rps, 0.1)
    wanted = max(base_seconds, min_requests / rps, 2 * connections / rps)
    duration = math.ceil(min(max_seconds, wanted))  # wrk takes whole seconds
    timeout = max(5.0, 3 * connections / rps)
    return WrkPlan(url, connections, duration, math.ceil(timeout))


def wrk_command(plan: WrkPlan) -> list[str]:
    return [
        wrk_binary(),
        f"--threads={plan.threads}",
        f"--connections={plan.connections}",
        f"--duration={plan.duration_seconds}s",
        f"--timeout={plan.timeout_seconds}s",
        f"--script={plan.script}",
        "--latency",
        *(["--header=Connection: close"] if plan.new_connection_per_request else []),
        plan.url,
        *(["--", *plan.script_args] if plan.script_args else []),
    ]


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise WrkError("wrk is not installed: run `make setup` (it installs Debian's wrk)")
    return found


def wrk_version() -> str:
    output = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True).stdout
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..."
    words = output.split()
    return words[1].removeprefix("debian/") if len(words) > 1 else "unknown"


def run_wrk(plan: WrkPlan, cpus: set[int] | None = None) -> dict:
    """Run wrk once (pinned to `cpus`) and return its result, latencies in ms."""
    if not plan.url.startswith(("http://127.", "http://localhost")):
        raise WrkError(f"refusing to load {plan.url}: load goes to the loopback interface only")

    timeout = plan.duration_seconds + plan.timeout_seconds + 30
    try:
        completed = run_group(wrk_command(plan), timeout=timeout, cpus=cpus)
    except ProcessError as error:
        raise WrkError(str(error)) from None
    return parse_wrk_output(completed.stdout, completed.stderr, completed.returncode)


def parse_wrk_output(stdout: str, stderr: str = "", returncode: int = 0) -> dict:
    for line in stdout.splitlines():
        if line.startswith(JSON_PREFIX):
            raw = json.loads(line[len(JSON_PREFIX) :])
            return _as_record(raw)
    detail = (stderr or stdout).strip().splitlines()[-3:]
    raise WrkError(f"wrk exited with {returncode} and printed no result: {' | '.join(detail)}")


def _as_record(raw: dict) -> dict:
    """Requests and requests/s count the 2xx answers only: wrk's `requests` counts every
    completed answer, a 400 or a 500 as well, and an error page served fast is not throughput.

    wrk counts an answer with a status of 400 or more as a status error (`non_2xx` here); the
    URLs measured (/fib/n, n within the verified range) have no 1xx or 3xx answers, so the
    rest are the 2xx answers.
    """
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    served = raw["requests"] - errors["status"]
    return {
        "requests": served,
        "duration_seconds": seconds,
        "requests_per_second": served / seconds if seconds > 0 else 0.0,
        "latency_ms": {key: raw["latency_ms"][key] for key in ("p50", "p90", "p99", "max")},
        "errors": {
            "connect": errors["connect"],
            "read": errors["read"],
            "write": errors["write"],
            "timeout": errors["timeout"],
            "non_2xx": errors["status"],
        },
    }
