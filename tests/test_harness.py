"""The benchmark harness for real: wrk, Locust and uvicorn servers under both interpreters, on
free ports, with tiny durations. They check that it measures and records, not how fast it is."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from contract_check import verify
from processes import free_port, wait_for_health
from variants import ROOT, get_variant

HARNESS = [sys.executable, "-m", "benchmarks", "run", "--free-ports", "--allow-busy", "--quiet"]
TINY = [
    "--n", "0,20", "--connections", "4", "--repeats", "2", "--duration", "1",
    "--warmup-max-cpython", "1", "--warmup-max-pypy", "3",
    "--locust-seconds", "2", "--locust-repeats", "2", "--locust-users", "4", "--no-micro",
    "--ladder-seconds", "1", "--ladder-repeats", "1", "--cores-n", "20", "--workload", "fib",
]  # fmt: skip


def run_harness(*arguments: str, timeout: float = 480) -> subprocess.CompletedProcess:
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
    assert results["format_version"] == 2
    stack_of = {name: get_variant(name) for name in ("baseline", "pypy")}
    for name, runtime in [("baseline", "CPython 3."), ("pypy", "PyPy 7.")]:
        variant = results["variants"][name]
        assert variant["status"] == "measured"
        assert variant["verification"]["passed"]
        assert variant["runtime"].startswith(runtime)
        assert (variant["loop"], variant["http"]) == (stack_of[name].loop, stack_of[name].http)
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
        assert summary["uss_mib_per_worker_peak"] >= summary["uss_mib_per_worker_end"] > 0
        assert summary["server_cpu_cores"] > 0
    for record in locust:
        assert len(record["repeats"]) == 2  # --locust-repeats: fresh Locust runs, like wrk's
        assert record["summary"]["errors"]["failures"] == 0
        assert record["summary"]["requests_per_second"]["median"] > 0


def test_smoke_run_measures_the_ladder_of_each_stack(smoke_run):
    _, out = smoke_run
    ladder = json.loads((out / "latest.json").read_text())["ladder"]
    stacks = [(s["interpreter"], s["loop"], s["http"], s["chosen"]) for s in ladder["stacks"]]
    assert stacks == [
        ("cpython", "asyncio", "httptools", True),
        ("cpython", "uvloop", "httptools", False),
        ("pypy", "asyncio", "httptools", True),
        ("pypy", "asyncio", "h11", False),
    ]
    for stack, variant in zip(ladder["stacks"], ["baseline", "baseline", "pypy", "pypy"]):
        assert (stack["status"], stack["error"]) == ("measured", None)
        keys = [rung["key"] for rung in stack["rungs"]]
        assert keys == [
            "asgi",
            "starlette",
            "fastapi",
            f"variant:{variant}",
            f"offloaded:{variant}",
        ]
        offloaded = stack["rungs"][-1]
        assert offloaded["environment"]["FIB_INLINE_SECONDS"] == "0"
        for rung in stack["rungs"]:
            assert len(rung["repeats"]) == 1
            assert rung["summary"]["requests_per_second"]["median"] > 0
            assert rung["summary"]["errors"]["total"] == 0
            assert rung["warmup"]["n"] == 0


def test_smoke_run_serves_each_variant_on_every_cpu_with_1_and_2_workers(smoke_run):
    _, out = smoke_run
    cores = json.loads((out / "latest.json").read_text())["cores"]
    assert (cores["n"], cores["cpus"]) == (20, sorted(os.sched_getaffinity(0)))
    runs = [(run["variant"], run["workers"], run["status"]) for run in cores["runs"]]
    assert runs == [
        (name, workers, "measured") for name in ("baseline", "pypy") for workers in (1, 2)
    ]
    for run in cores["runs"]:
        assert len(run["repeats"]) == 2
        assert run["summary"]["errors"]["total"] == 0
        assert run["summary"]["compute_time_ms"]["median"] > 0
        assert run["summary"]["server_cpu_cores"] > 0


def test_a_scoring_run_verifies_and_measures_each_flavour(tmp_path: Path):
    flavours = ["scoring", "scoring-cython-typed", "scoring-pypy-lean"]
    completed = run_harness(
        "--workload", "scoring", "--quick", "--scoring-variants", ",".join(flavours),
        "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["variants"] == {} and "ladder" not in results and "cores" not in results
    section = results["scoring"]
    assert list(section["variants"]) == flavours
    for name, entry in section["variants"].items():
        assert entry["status"] == "measured", entry["error"]
        assert entry["verification"]["passed"] and len(entry["verification"]["checks"]) == 6
        assert entry["compiled"] is (name == "scoring-cython-typed")
        summary = entry["wrk"]["summary"]
        assert summary["requests_per_second"]["min"] > 0
        assert summary["errors"]["total"] == 0  # every POST /score answered 200
        assert entry["locust"]["summary"]["errors"]["failures"] == 0
        assert entry["memory"]["peak_pss_mib_per_worker"] > 0
    assert "## Case study: fraud scoring" in (tmp_path / "latest.md").read_text()
    assert (tmp_path / "plots" / "scoring.png").exists()


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
    assert plots == [
        "cores.png",
        "ladder.png",
        "latency.png",
        "memory.png",
        "rps_vs_n.png",
        "warmup.png",
    ]
    for plot in (out / "plots").glob("*.png"):
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def wrong_server() -> Iterator[int]:
    """A real uvicorn serving tests/wrong_app.py (fib(10) off by one) on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.wrong_app:app", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
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


def test_only_make_bench_defaults_can_replace_the_reference():
    from benchmarks.__main__ import build_parser, options_from
    from benchmarks.planning import Options
    from benchmarks.reference import scratch_reasons

    def reasons(*argv: str) -> list[str]:
        return scratch_reasons(options_from(build_parser().parse_args(["run", *argv])), Options())

    assert reasons() == []
    assert reasons("--free-ports") == []  # where servers listen is not what is measured
    assert reasons("--variants", "baseline,pypy") == [
        "--variants differs from make bench's default"
    ]
    assert "--repeats differs from make bench's default" in reasons("--quick")
    assert reasons("--no-start") == ["--start-servers differs from make bench's default"]
    assert reasons("--allow-busy") == ["--allow-busy differs from make bench's default"]


def tracked_reference_files() -> dict[str, bytes]:
    from benchmarks.results import RESULTS_DIR

    paths = [ROOT / "README.md", *RESULTS_DIR.glob("latest.*"), *RESULTS_DIR.glob("plots/*")]
    return {str(path): path.read_bytes() for path in paths}


def test_a_smoke_run_leaves_the_reference_results_alone():
    before = tracked_reference_files()
    completed = run_harness("--variants", "baseline", *TINY)
    assert completed.returncode == 0, completed.stderr
    announced = (
        r"^results: (\S+) \(latest\.json, latest\.md, plots/\)\. "
        r"The reference results in \S+ are unchanged: (.+)\.$"
    )
    found = re.search(announced, completed.stdout, re.MULTILINE)
    assert found, completed.stdout[-2000:]
    folder = Path(found.group(1))
    try:
        assert folder.parent == ROOT / "benchmarks" / "results" / "scratch"
        assert "--variants differs from make bench's default" in found.group(2)
        results = json.loads((folder / "latest.json").read_text())
        assert [r["variant"] for r in results["records"]] == ["baseline", "baseline", "baseline"]
        assert (folder / "latest.md").exists() and (folder / "plots" / "rps_vs_n.png").exists()
        assert tracked_reference_files() == before
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_complete_run_is_promoted_to_the_reference(tmp_path: Path):
    from benchmarks.case_study_doc import CASE_STUDY_DOC, check_case_study
    from benchmarks.readme import START, render_results_section
    from benchmarks.reference import incomplete_reasons, promote
    from benchmarks.results import RESULTS_DIR, load_results
    from benchmarks.table import render_table

    complete = RESULTS_DIR / "latest.json"  # the committed reference is a complete run
    assert incomplete_reasons(load_results(complete)) == []
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START}\nold\n<!-- benchmark-results:end -->\nafter\n")
    case_study = tmp_path / "case-study.md"
    shutil.copyfile(CASE_STUDY_DOC, case_study)
    promote(complete, tmp_path / "reference", readme, case_study)
    assert check_case_study(load_results(complete), case_study) == []
    reference = tmp_path / "reference"
    assert (reference / "latest.json").read_bytes() == complete.read_bytes()
    assert (reference / "latest.md").read_text() == render_table(load_results(complete))
    assert sorted(p.name for p in (reference / "plots").glob("*.png"))
    assert render_results_section(load_results(complete)) in readme.read_text()
    assert readme.read_text().endswith("<!-- benchmark-results:end -->\nafter\n")


def test_an_incomplete_run_is_not_promoted(tmp_path: Path):
    from benchmarks.reference import promote
    from benchmarks.results import RESULTS_DIR

    partial = json.loads((RESULTS_DIR / "latest.json").read_text())
    partial["variants"]["pypy"]["status"] = "failed"
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(partial))
    with pytest.raises(ValueError, match="pypy was not measured \\(failed\\)"):
        promote(path, tmp_path / "reference", tmp_path / "README.md")
    assert not (tmp_path / "reference").exists()
