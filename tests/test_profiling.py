"""Profile first (benchmarks/profiling.py, benchmarks/profile_shares.py): the share rule on a
hand-made speedscope file, with exact fractions; then two short real profiles, py-spy on CPython
and vmprof on PyPy, that must leave no process behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from benchmarks import profile_shares
from benchmarks.profiling import ProfilingError, check_can_attach, new_profile, take_profile
from variants import get_variant

SITE = "/venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"
APP = "/repo/case-study"

# One frame per line: (name as py-spy writes it, file). Indices are the frames' places here.
FRAMES = [
    ("Server.serve", f"{SITE}/uvicorn/server.py"),  # 0
    ("BaseEventLoop._run_once", f"{STDLIB}/asyncio/base_events.py"),  # 1
    ("RequestResponseCycle.run_asgi", f"{SITE}/uvicorn/protocols/http/httptools_impl.py"),  # 2
    ("Router.__call__", f"{SITE}/starlette/routing.py"),  # 3
    ("run_endpoint_function", f"{SITE}/fastapi/routing.py"),  # 4
    ("create_app.<locals>.score", f"{APP}/scoring_app.py"),  # 5
    ("score", f"{APP}/fraud_scoring/engine.py"),  # 6
    ("fullmatch", f"{STDLIB}/re/__init__.py"),  # 7: no rule; the engine frame above decides
    ("BaseModel.model_validate_json", f"{SITE}/pydantic/main.py"),  # 8
    ("validate_body", f"{APP}/scoring_validation.py"),  # 9
    ("JSONDecoder.decode", f"{STDLIB}/json/decoder.py"),  # 10
    ("JSONResponse.render", f"{SITE}/starlette/responses.py"),  # 11
    ("Response.init_headers", f"{SITE}/starlette/responses.py"),  # 12
    ("features", "/repo/case-study/build/cython/fraud_scoring_cython/features.c"),  # 13
    ("write", "/usr/lib/x86_64-linux-gnu/libc.so.6"),  # 14: no rule
    ("fib_recursive", "/repo/baseline/baseline_app.py"),  # 15
    ("<module>", "<frozen importlib._bootstrap>"),  # 16: no rule
    ("ScoreRequest.history_not_later", f"{APP}/scoring_app.py"),  # 17: pydantic calls it back
]
REQUEST = [0, 1, 2, 3, 4]  # the server and the framework around the endpoint
MAIN_SAMPLES = [
    ([*REQUEST, 5, 6, 7], "engine"),
    ([*REQUEST, 5, 6], "engine"),
    ([*REQUEST, 5, 13, 14], "engine"),  # a compiled engine's C frame, under --native
    ([*REQUEST, 5, 15], "engine"),
    ([*REQUEST, 5, 8], "validation"),
    ([*REQUEST, 5, 8, 17], "validation"),  # the model's own check, in the app's module
    ([*REQUEST, 5, 9, 10], "json"),  # the plain-Python check's json.loads
    ([*REQUEST, 5, 9], "validation"),
    ([0, 1, 2, 3, 11], "json"),  # Starlette's JSONResponse.render
    ([0, 1, 2, 3, 12], "framework"),
    (REQUEST, "framework"),
    ([0, 1, 2, 14], "server"),  # the socket's write, under uvicorn
    ([0, 1], "server"),
    ([*REQUEST, 5], "other"),  # the endpoint's own code
    ([16], "other"),  # no frame matches
    ([], "other"),
    ([*REQUEST, 5, 6, 7], "engine"),
]


def speedscope(main: list[list[int]], other_thread: list[list[int]]) -> dict:
    """A speedscope document as py-spy writes it, a main thread and another one, each sample of
    weight 1 (py-spy's are the sampling period) so that every share is an exact fraction."""
    frames = [{"name": name, "file": file, "line": 1, "col": None} for name, file in FRAMES]

    def profile(name: str, stacks: list[list[int]]) -> dict:
        weights = [1] * len(stacks)
        return {
            "type": "sampled",
            "name": name,
            "unit": "none",
            "startValue": 0,
            "endValue": len(stacks),
            "samples": stacks,
            "weights": weights,
        }

    threads = [profile('Thread 7 "Worker"', other_thread), profile('Thread 1 "MainThread"', main)]
    return {"exporter": "py-spy@0.4.3", "shared": {"frames": frames}, "profiles": threads}


@pytest.fixture
def document() -> dict:
    return speedscope([stack for stack, _ in MAIN_SAMPLES], [[*REQUEST, 6]] * 4)


def test_each_sample_takes_the_category_of_its_innermost_matching_frame() -> None:
    categories = [profile_shares.frame_category({"name": n, "file": f}) for n, f in FRAMES]
    for stack, expected in MAIN_SAMPLES:
        assert profile_shares.sample_category(stack, categories) == expected, stack


def test_the_shares_of_the_main_thread_are_exact_fractions(document: dict) -> None:
    shares, samples = profile_shares.category_shares(document)
    assert samples == 17
    assert shares == {
        "engine": 5 / 17,
        "validation": 3 / 17,
        "json": 2 / 17,
        "framework": 2 / 17,
        "server": 2 / 17,
        "other": 3 / 17,
    }


def test_every_thread_counts_when_asked(document: dict) -> None:
    shares, samples = profile_shares.category_shares(document, threads="all")
    assert samples == 21
    assert shares["engine"] == 9 / 21
    assert shares["other"] == 3 / 21


def test_report_top_functions_and_amdahl(document: dict) -> None:
    report = profile_shares.shares_report(document, "scoring", "cpython", 20, {"rate_hz": 200})
    assert report["profiler"] == "py-spy 0.4.3"
    assert report["amdahl"] == {"engine_share": 5 / 17, "ceiling": 1 / (1 - 5 / 17)}
    top = report["top_functions"]  # by own samples, then by name; the empty stack has none
    assert top[:2] == [
        {"name": "fullmatch", "file": "re/__init__.py", "share": 2 / 17},
        {"name": "write", "file": "/usr/lib/x86_64-linux-gnu/libc.so.6", "share": 2 / 17},
    ]
    assert [entry["name"] for entry in top[2:]] == [
        "<module>",
        "BaseEventLoop._run_once",
        "BaseModel.model_validate_json",
        "JSONDecoder.decode",
        "JSONResponse.render",
        "Response.init_headers",
        "ScoreRequest.history_not_later",
        "create_app.<locals>.score",
    ]
    assert {entry["share"] for entry in top[2:]} == {1 / 17}
    assert json.loads(json.dumps(report)) == report  # plain JSON


def test_the_table_command(tmp_path: Path, document: dict, capsys) -> None:
    path = tmp_path / "scoring.speedscope.json"
    path.write_text(json.dumps(document))
    assert profile_shares.main([str(path)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("scoring: py-spy 0.4.3, 17 samples")
    assert "  engine       29.4%\n" in table


def py_spy_refusal() -> str | None:
    """Why py-spy cannot attach to a process of ours here, or None if it can."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        check_can_attach(get_variant("scoring"), sleeper.pid)
    except ProfilingError as error:
        if "ptrace refused" in str(error):
            return str(error)
        raise
    finally:
        sleeper.kill()
        sleeper.wait()
    return None


def check_real_profile(out: Path, name: str, files: list[str]) -> None:
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}{s}" for s in files)
    report = json.loads((out / f"{name}.shares.json").read_text())
    assert abs(sum(report["shares"].values()) - 1) < 1e-9
    assert report["shares"]["engine"] > 0 and report["shares"]["server"] > 0
    assert report["samples"] > 0 and len(report["top_functions"]) == 10
    assert not psutil.Process().children(recursive=True), "a process was left behind"


def test_a_real_py_spy_profile_of_the_scoring_service(tmp_path: Path) -> None:
    refusal = py_spy_refusal()
    if refusal:
        pytest.skip(f"py-spy cannot attach on this machine: {refusal}")
    take_profile(new_profile("scoring", seconds=2, out=tmp_path, warmup=1))
    check_real_profile(tmp_path, "scoring", [".speedscope.json", ".svg", ".shares.json"])
    assert (tmp_path / "scoring.svg").read_text().lstrip().startswith("<?xml")


def test_a_real_vmprof_profile_of_the_lean_pypy_service(tmp_path: Path) -> None:
    take_profile(new_profile("scoring-pypy-lean", seconds=3, out=tmp_path, warmup=3))
    files = [".speedscope.json", ".vmprof", ".shares.json"]  # vmprof's raw file is kept too
    check_real_profile(tmp_path, "scoring-pypy-lean", files)
