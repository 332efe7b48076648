"""One headless Locust run of a scenario (benchmarks/locustfile.py: the Fibonacci apps' mix;
benchmarks/locustfile_scoring.py: the case study's) → one dict, read from Locust's CSV stats."""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from processes import ProcessError, run_group

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


class LocustError(RuntimeError):
    """Locust failed or wrote no statistics."""


def locust_command(
    host: str,
    users: int,
    seconds: float,
    csv_prefix: Path,
    processes: int = 1,
    locustfile: Path = LOCUSTFILE,
) -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "--locustfile", str(locustfile),
        "--headless", "--only-summary",
        "--host", host,
        "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{max(1, round(seconds))}s",
        "--stop-timeout", "5",
        "--csv", str(csv_prefix),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes > 1:  # Locust forks that many worker processes on this machine
        command += ["--processes", str(processes)]
    return command


def locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def run_locust(
    host: str,
    users: int,
    seconds: float,
    cpus: set[int] | None = None,
    processes: int = 1,
    locustfile: Path = LOCUSTFILE,
) -> dict:
    """Run a scenario against `host` (pinned to `cpus`); requests/s, latency, failures."""
    if not host.startswith(("http://127.", "http://localhost")):
        raise LocustError(f"refusing to load {host}: load goes to the loopback interface only")

    with tempfile.TemporaryDirectory(prefix="locust-") as folder:
        prefix = Path(folder) / "run"
        command = locust_command(host, users, seconds, prefix, processes, locustfile)
        try:
            completed = run_group(command, timeout=seconds + 60, cpus=cpus)
        except ProcessError as error:
            raise LocustError(str(error)) from None
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
            raise LocustError(f"locust exited with {completed.returncode}, no stats: {tail}")
        return parse_stats(stats.read_text())


def parse_stats(text: str) -> dict:
    """The 'Aggregated' row of Locust's *_stats.csv as a REPEAT-like dict (latencies in ms)."""
    rows = {row["Name"]: row for row in csv.DictReader(text.splitlines())}
    total = rows.get("Aggregated")
    if total is None or int(total["Request Count"]) == 0:
        raise LocustError("locust completed no requests")
    return {
        "requests": int(total["Request Count"]),
        "requests_per_second": float(total["Requests/s"]),
        "latency_ms": {
            "p50": float(total["50%"]),
            "p90": float(total["90%"]),
            "p99": float(total["99%"]),
            "max": float(total["Max Response Time"]),
        },
        "errors": {"failures": int(total["Failure Count"])},
        "per_endpoint": {
            name: {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}
            for name, row in rows.items()
            if name != "Aggregated"
        },
    }
