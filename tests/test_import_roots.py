"""The apps import the ordinary way: `make setup`'s .pth file is the only import root, so each
environment's interpreter finds them from any directory, with no PYTHONPATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from processes import free_port, http_get, start_group, stop_group, wait_for_health
from variants import INTERPRETERS, ROOT

# module → the file it must come from, relative to the repository.
MODULES = {
    "baseline.baseline_app": "baseline/baseline_app.py",
    "baseline.fib_settings": "baseline/fib_settings.py",
    "baseline_app": "baseline/baseline_app.py",  # the short name, for `uvicorn baseline_app:app`
    "cython_app": "cython-optimized/cython_app.py",
    "variants": "variants.py",
    "benchmarks.runner": "benchmarks/runner.py",
    "docker_check": "pypy-deployment/docker_check.py",
    "scoring_app": "case-study/scoring_app.py",
    "fraud_scoring.engine": "case-study/fraud_scoring/engine.py",
}
FIND_ORIGINS = (
    "import importlib.util, json, sys; "
    "print(json.dumps({m: importlib.util.find_spec(m).origin for m in sys.argv[1:]}))"
)


def clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.mark.parametrize("interpreter", sorted(INTERPRETERS))
def test_every_module_is_found_from_another_directory(interpreter: str, tmp_path: Path):
    python = str(INTERPRETERS[interpreter])
    found = subprocess.run(
        [python, "-c", FIND_ORIGINS, *MODULES],
        cwd=tmp_path, env=clean_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    origins = json.loads(found.stdout)
    assert {m: str(Path(o).relative_to(ROOT)) for m, o in origins.items()} == MODULES


def test_uvicorn_serves_baseline_app_from_another_directory(tmp_path: Path):
    port = free_port()
    python = str(INTERPRETERS["cpython"])
    command = [python, "-m", "uvicorn", "baseline_app:app", "--port", str(port)]
    server = start_group(
        command, cwd=tmp_path, env=clean_environment(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        assert wait_for_health(base_url, timeout=60, process=server)["status"] == "healthy"
        answer = http_get(f"{base_url}/fib/20")
        assert (answer.status, answer.json()["result"]) == (200, 6765)
    finally:
        stop_group(server)
