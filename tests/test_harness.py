"""The benchmark harness for real: wrk, Locust and uvicorn servers under both interpreters, on
free ports, with tiny durations. They check that it measures and records, not how fast it is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from benchmarks.servers import free_port, wait_for_health
from benchmarks.verify import verify
from variants import ROOT, server_environment

HARNESS = [sys.executable, "-m", "benchmarks", "run", "--free-ports", "--allow-busy", "--quiet"]
TINY = [
    "--n", "0,20", "--connections", "4", "--repeats", "2", "--duration", "1",
    "--warmup-max-cpython", "1", "--warmup-max-pypy", "3",
    "--locust-seconds", "2", "--locust-users", "4", "--no-micro",
]  # fmt: skip


def run_harness(*arguments: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HARNESS, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("bench")
    completed = run_harness("--variants", "baseline,pypy", *TINY, "--output-dir", str(out))
    return completed, out


def test_smoke_run_measures_both_variants(smoke_run):
    completed, out = smoke_run
    assert completed.returncode == 0, completed.stderr
    results = json.loads((out / "latest.json").read_text())
    assert results["format_version"] == 1
    for name, runtime in [("baseline", "CPython 3."), ("pypy", "PyPy 7.")]:
        variant = results["variants"][name]
        assert variant["status"] == "measured"
        assert variant["verification"]["passed"]
        assert variant["runtime"].startswith(runtime)
        assert len(variant["warmup"]["requests_per_second"]) >= 1
    wrk = [r for r in results["records"] if r["tool"] == "wrk"]
    locust = [r for r in results["records"] if r["tool"] == "locust"]
    assert sorted((r["variant"], r["n"]) for r in wrk) == [
        ("baseline", 0), ("baseline", 20), ("pypy", 0), ("pypy", 20)
    ]  # fmt: skip
    assert [r["variant"] for r in locust] == ["baseline", "pypy"]
    for record in wrk:
        summary = record["summary"]
        assert len(record["repeats"]) == 2
        assert summary["requests_per_second"]["min"] > 0
        assert summary["errors"]["total"] == 0
        assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
        assert summary["uss_mib_per_worker"] > 0
        assert summary["server_cpu_cores"] > 0
    for record in locust:
        assert record["summary"]["errors"]["failures"] == 0
        assert record["summary"]["requests_per_second"]["median"] > 0


def test_smoke_run_records_environment_and_pinning(smoke_run):
    _, out = smoke_run
    environment = json.loads((out / "latest.json").read_text())["environment"]
    pinning = environment["pinning"]
    if len(os.sched_getaffinity(0)) >= 2:
        assert pinning["pinned"]
        assert not set(pinning["load_generator_cpus"]) & set(pinning["server_cpus"])
    assert environment["interpreters"]["cpython"]["runtime"].startswith("CPython 3.")
    assert environment["interpreters"]["pypy"]["packages"]["fastapi"] == "0.128.8"
    assert environment["tools"]["wrk"].startswith("4.1")
    assert environment["duration_seconds"] > 0


def test_smoke_run_compute_time_grows_with_n(smoke_run):
    _, out = smoke_run
    records = json.loads((out / "latest.json").read_text())["records"]
    compute = {(r["variant"], r["n"]): r["summary"]["compute_time_ms"]["median"]
               for r in records if r["tool"] == "wrk"}  # fmt: skip
    assert compute[("baseline", 20)] > compute[("baseline", 0)]


def test_smoke_run_writes_table_and_plots(smoke_run):
    _, out = smoke_run
    table = (out / "latest.md").read_text()
    assert "CPython, pure Python" in table and "PyPy, pure Python" in table
    timestamped = [p for p in out.glob("*.json") if p.name != "latest.json"]
    assert len(timestamped) == 1
    assert timestamped[0].read_text() == (out / "latest.json").read_text()
    plots = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert plots == ["latency.png", "memory.png", "rps_vs_n.png", "warmup.png"]
    for plot in (out / "plots").glob("*.png"):
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def wrong_server() -> Iterator[int]:
    """A real uvicorn serving tests/wrong_app.py (fib(10) off by one) on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.wrong_app:app", "--port", str(port)],
        cwd=ROOT,
        env=server_environment(dict(os.environ)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_verification_rejects_a_wrong_server(wrong_server: int):
    outcome = verify(f"http://127.0.0.1:{wrong_server}", 35)
    assert not outcome["passed"]
    failed = [c for c in outcome["checks"] if not c["passed"]]
    assert failed == [
        {
            "name": "GET /fib/10 is exact",
            "passed": False,
            "detail": "result 56 for n=10, expected 55",
        }
    ]


def test_harness_does_not_measure_a_wrong_server_and_says_why(wrong_server: int, tmp_path: Path):
    completed = run_harness(
        "--no-start", "--variants", "baseline", "--port", f"baseline={wrong_server}", *TINY,
        "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 1
    assert "not measured: baseline" in completed.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    variant = results["variants"]["baseline"]
    assert variant["status"] == "failed"
    assert "GET /fib/10 is exact: result 56 for n=10, expected 55" in variant["error"]
    assert results["records"] == []
    assert "result 56 for n=10, expected 55" in (tmp_path / "latest.md").read_text()


def test_interrupting_a_run_keeps_results_and_leaves_no_process(tmp_path: Path):
    harness = subprocess.Popen(
        [*HARNESS, "--variants", "baseline,cython", "--n", "0,10,20", "--connections", "4",
         "--repeats", "3", "--duration", "1", "--warmup-max-cpython", "1", "--no-micro",
         "--output-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    latest = tmp_path / "latest.json"
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started |= {p.pid for p in psutil.Process(harness.pid).children(recursive=True)}
            if latest.exists() and json.loads(latest.read_text())["records"]:
                break
            time.sleep(0.2)
        harness.send_signal(signal.SIGINT)  # what Ctrl-C sends
        _, stderr = harness.communicate(timeout=60)
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
    assert harness.returncode == 130, stderr
    assert "interrupted; results so far are in" in stderr
    results = json.loads(latest.read_text())
    assert len(results["records"]) >= 1
    assert results["variants"]["baseline"]["status"] == "interrupted"
    assert started, "the harness started no server"
    assert not [pid for pid in started if psutil.pid_exists(pid)]
