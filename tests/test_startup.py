"""Start-up through serve.py (what `make run-NAME` runs): bad settings stop it with one clear line,
before any server process exists; a stop by Ctrl-C or SIGTERM is a clean exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from baseline.fib_settings import (
    FIB_MAX_N_LIMIT,
    SettingsError,
    available_cores,
    cgroup_cpu_limit,
    read_budget_seconds,
    read_fib_max_n,
    read_inline_seconds,
    read_turn_budget_seconds,
)
from processes import free_port, group_members, start_group, stop_group, wait_for_health
from serve import build_command
from variants import ROOT, VARIANTS, get_variant, server_command

SERVE = [sys.executable, str(ROOT / "serve.py")]


def run_serve(variant: str, **env: str) -> subprocess.CompletedProcess:
    """serve.py with `env`; if it starts a server after all, its whole process group is stopped
    (a plain timeout would kill serve.py's uvicorn and leave its workers running)."""
    process = subprocess.Popen(
        [*SERVE, variant],
        env={**os.environ, "PORT": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stop_group(process)
        raise AssertionError(f"serve.py {variant} with {env} started a server") from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
@pytest.mark.parametrize(
    ("value", "shown"),
    [("93", "93"), ("-1", "-1"), ("abc", "'abc'"), ("3.5", "'3.5'"), ("1e2", "'1e2'")],
)
def test_bad_fib_max_n_refuses_to_start_with_its_message(variant: str, value: str, shown: str):
    result = run_serve(variant, FIB_MAX_N=value)
    assert result.returncode == 2
    assert (
        result.stderr == f"serve.py: FIB_MAX_N must be a whole number from 0 to 92, got {shown}\n"
    )
    assert result.stdout == ""  # it never got as far as announcing a server


LONG = "9" * 5000  # over the 4300 digits int() converts on Python 3.11+
SHOWN_LONG = "9" * 40 + "..."
ZEROS_93 = "0" * 5000 + "93"
WORKERS = "WORKERS must be a whole number from 1 to 256"
FIB_MAX_N = "FIB_MAX_N must be a whole number from 0 to 92"
BUDGET = "FIB_BUDGET_SECONDS must be a number of seconds from 0.001 to 3600"
INLINE = "FIB_INLINE_SECONDS must be a number of seconds from 0 to 1"
TURN = "TURN_BUDGET_SECONDS must be a number of seconds from 0 to 1"
HOST = "HOST must be an IP address or a host name this machine resolves"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number from 1 to 65535, got 'http'"),
        ({"PORT": "70000"}, "PORT must be a whole number from 1 to 65535, got 70000"),
        ({"PORT": "--5"}, "PORT must be a whole number from 1 to 65535, got '--5'"),
        ({"PORT": LONG}, f"PORT must be a whole number from 1 to 65535, got {SHOWN_LONG}"),
        ({"WORKERS": "0"}, "WORKERS must be a whole number from 1 to 256, got 0"),
        ({"WORKERS": "-" + LONG}, f"{WORKERS}, got -{LONG[:39]}..."),
        ({"WORKERS": "2.0"}, "WORKERS must be a whole number from 1 to 256, got '2.0'"),
        ({"FIB_MAX_N": "--5"}, "FIB_MAX_N must be a whole number from 0 to 92, got '--5'"),
        ({"FIB_MAX_N": LONG}, f"FIB_MAX_N must be a whole number from 0 to 92, got {SHOWN_LONG}"),
        ({"FIB_MAX_N": ZEROS_93}, f"{FIB_MAX_N}, got {ZEROS_93[:40]}..."),
        ({"FIB_BUDGET_SECONDS": "0"}, f"{BUDGET}, got '0'"),
        ({"FIB_BUDGET_SECONDS": "-1"}, f"{BUDGET}, got '-1'"),
        ({"FIB_BUDGET_SECONDS": "nan"}, f"{BUDGET}, got 'nan'"),
        ({"FIB_BUDGET_SECONDS": "1e3"}, f"{BUDGET}, got '1e3'"),
        ({"FIB_BUDGET_SECONDS": LONG}, f"{BUDGET}, got '{SHOWN_LONG}'"),
        ({"FIB_INLINE_SECONDS": "2"}, f"{INLINE}, got '2'"),
        ({"FIB_INLINE_SECONDS": "-0.001"}, f"{INLINE}, got '-0.001'"),
        ({"FIB_INLINE_SECONDS": "1ms"}, f"{INLINE}, got '1ms'"),
        ({"FIB_INLINE_SECONDS": LONG}, f"{INLINE}, got '{SHOWN_LONG}'"),
        ({"TURN_BUDGET_SECONDS": "-0.05"}, f"{TURN}, got '-0.05'"),
        ({"TURN_BUDGET_SECONDS": "50ms"}, f"{TURN}, got '50ms'"),
        ({"TURN_BUDGET_SECONDS": "1.5"}, f"{TURN}, got '1.5'"),
        ({"LOOP": "trio"}, "LOOP must be asyncio or uvloop for baseline, got 'trio'"),
        ({"HOST": "not a host"}, f"{HOST}, got 'not a host'"),
        ({"HOST": "999.1.1.1"}, f"{HOST}, got '999.1.1.1'"),
        ({"HOST": "x" * 300}, f"{HOST}, got '{'x' * 40}...'"),
    ],
)  # fmt: skip
def test_bad_settings_refuse_to_start_with_one_line(env: dict, message: str):
    result = run_serve("baseline", **env)
    assert (result.returncode, result.stderr) == (2, f"serve.py: {message}\n")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 10.0), ({"FIB_BUDGET_SECONDS": "2.5"}, 2.5), ({"FIB_BUDGET_SECONDS": " 60 "}, 60.0)],
)
def test_read_budget_seconds_accepts(environ: dict, expected: float):
    assert read_budget_seconds(environ) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 0.001), ({"FIB_INLINE_SECONDS": "0"}, 0.0), ({"FIB_INLINE_SECONDS": " 0.5 "}, 0.5)],
)
def test_read_inline_seconds_accepts(environ: dict, expected: float):
    assert read_inline_seconds(environ) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 0.05), ({"TURN_BUDGET_SECONDS": "0"}, 0.0), ({"TURN_BUDGET_SECONDS": " 0.2 "}, 0.2)],
)
def test_read_turn_budget_seconds_accepts(environ: dict, expected: float):
    assert read_turn_budget_seconds(environ) == expected


def test_the_scoring_service_refuses_a_bad_turn_budget_too():
    result = run_serve("scoring", TURN_BUDGET_SECONDS="nan")
    assert (result.returncode, result.stderr) == (2, f"serve.py: {TURN}, got 'nan'\n")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, no quota
        ({"cpu.max": "150000 100000\n"}, 2),  # --cpus=1.5: two slots, rounded up
        ({"cpu.max": "100000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
        ({}, None),  # no cgroup files at all
    ],
)
def test_compute_slots_follow_the_cgroup_cpu_quota(tmp_path, files: dict, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == expected
    affinity = len(os.sched_getaffinity(0))
    assert available_cores(tmp_path) == min(affinity, expected or affinity)


@pytest.mark.parametrize(
    ("variant", "environ", "loop"),
    [
        ("cython", {}, "asyncio"),
        ("cython", {"LOOP": "uvloop"}, "uvloop"),
        ("scoring", {"LOOP": " uvloop "}, "uvloop"),
        ("pypy", {}, "asyncio"),
        ("pypy", {"LOOP": ""}, "asyncio"),
    ],
)
def test_loop_chooses_uvicorns_event_loop(variant: str, environ: dict, loop: str):
    command = build_command(get_variant(variant), environ)
    assert command[command.index("--loop") + 1] == loop


def test_loop_refuses_uvloop_on_pypy():
    with pytest.raises(SettingsError, match="LOOP must be asyncio for pypy, got 'uvloop'"):
        build_command(get_variant("pypy"), {"LOOP": "uvloop"})


def test_unknown_variant_lists_the_known_ones():
    result = run_serve("cpython-fast")
    assert result.returncode == 2
    assert result.stderr == (
        "serve.py: unknown variant 'cpython-fast'; the variants are: "
        "baseline, cython, pypy, pypy-cython, scoring, scoring-cython, scoring-cython-typed, "
        "scoring-mypyc, scoring-pypy, scoring-pypy-lean, baseline-cpython3.12, "
        "baseline-cpython3.13\n"
    )


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
def test_uvicorn_started_directly_with_a_bad_cap_fails_with_the_same_message(variant: str):
    # Users may bypass serve.py; the app itself then refuses to load.
    command = server_command(get_variant(variant), "127.0.0.1", 1, 1)
    result = subprocess.run(
        command,
        env={**os.environ, "FIB_MAX_N": "100"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FIB_MAX_N must be a whole number from 0 to 92, got 100" in result.stderr
    assert FIB_MAX_N_LIMIT == 92


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 35), ({"FIB_MAX_N": ""}, 35), ({"FIB_MAX_N": "0"}, 0), ({"FIB_MAX_N": " 92 "}, 92)],
)
def test_read_fib_max_n_accepts(environ: dict, expected: int):
    assert read_fib_max_n(environ) == expected


def test_read_fib_max_n_refuses_the_int64_overflow():
    with pytest.raises(
        SettingsError, match="FIB_MAX_N must be a whole number from 0 to 92, got 93"
    ):
        read_fib_max_n({"FIB_MAX_N": "93"})


# Stopping: a Ctrl-C (SIGINT to the foreground process group) or a SIGTERM to the server (what
# make passes on when it is sent one) is a clean stop, status 0, whatever the interpreter and the
# number of workers; nothing of the server is left. GNU make reports a recipe that exits non-zero
# or dies by a signal as a failure ("make: *** [Makefile:NN: run-pypy] Terminated").

STOPS = {"ctrl-c": (signal.SIGINT, "group"), "sigterm": (signal.SIGTERM, "leader")}


def start_in_group(command: list[str], log: Path, **env: str) -> subprocess.Popen:
    with log.open("w") as output:
        return start_group(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )


def send_stop(process: subprocess.Popen, stop: str) -> None:
    signum, target = STOPS[stop]
    if target == "group":
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)


def wait_then_clean_up(process: subprocess.Popen) -> int:
    """The exit status of the stopped `process`, once every process of its group has ended; any
    still running 10 s later is stopped and fails the test. (multiprocessing's resource tracker
    ends a moment after uvicorn's supervisor: when the pipe from it closes.)"""
    try:
        return process.wait(timeout=60)
    finally:
        _, alive = psutil.wait_procs(group_members(process.pid), timeout=10)
        stop_group(process)
        assert not alive, f"processes left behind: {[member.cmdline() for member in alive]}"


def wait_for_startups(log: Path, workers: int, process: subprocess.Popen) -> None:
    """Until every worker has said its app started, as a person at the terminal would see it:
    one worker can answer /health while another is still starting, and a signal then interrupts
    that worker's start-up (uvicorn logs the cancelled lifespan task as an error: upstream's
    https://github.com/encode/uvicorn/issues/1579)."""
    deadline = time.monotonic() + 60
    while log.read_text().count("Application startup complete.") < workers:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"not every worker started:\n{log.read_text()}"
        time.sleep(0.1)


@pytest.mark.parametrize("stop", sorted(STOPS))
@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("variant", ["baseline", "pypy"])
def test_a_stop_by_signal_exits_0_and_leaves_nothing(
    variant: str, workers: str, stop: str, tmp_path: Path
):
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_in_group([*SERVE, variant], log, PORT=str(port), WORKERS=workers)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", timeout=60, process=process)
        wait_for_startups(log, int(workers), process)
        send_stop(process, stop)
    finally:
        status = wait_then_clean_up(process)
    output = log.read_text()
    assert status == 0, output
    assert "Traceback" not in output
    assert "Shutting down" in output  # uvicorn's graceful shutdown ran


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_make_run_pypy_stopped_reports_no_failure(stop: str, tmp_path: Path):
    # The recipe of `make run-pypy` (tests/test_variants.py checks the Makefile has it), in a
    # Makefile of its own: the real target would first run `make setup`.
    (tmp_path / "Makefile").write_text(f"run-pypy:\n\t@{sys.executable} {ROOT / 'serve.py'} pypy\n")
    port = free_port()
    log = tmp_path / "make.log"
    command = ["make", "--no-print-directory", "-C", str(tmp_path), "run-pypy"]
    process = start_in_group(command, log, PORT=str(port), WORKERS="1")
    try:
        wait_for_health(f"http://127.0.0.1:{port}", timeout=60, process=process)
        send_stop(process, stop)
    finally:
        status = wait_then_clean_up(process)
    output = log.read_text()
    assert "make: ***" not in output
    # make itself was signalled: it ends by that signal (130 or 143 in a shell), having reported
    # nothing, because serve.py exited 0.
    assert status == -STOPS[stop][0]
