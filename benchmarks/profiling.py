"""Profile first: where one worker of a variant spends its CPU under the benchmark's load.

    python -m benchmarks.profiling VARIANT [--seconds S] [--out DIR] [--warmup S] [--rate HZ]

The server starts as the harness starts it (variants.server_command, server_environment, its own
process group) with ONE worker pinned to the server's CPU, wrk on the load generator's
(benchmarks/planning.py). It is warmed up under the load it is then profiled with: POST /score with
the case study's bodies (GET /fib/20 for the Fibonacci variants); PyPy for 30 s, so the profile
shows the JIT's code, not the interpreter's first seconds. Then, for S seconds:

- CPython: py-spy on the worker, twice in a row under the same load: a speedscope file (the shares
  come from it), then an SVG flame graph (for the eye): py-spy writes one format per run, and a
  flame graph drawn from the speedscope file would be a renderer of our own to keep. A compiled
  engine (Cython, mypyc) is C code that py-spy sees only with --native, so those variants get it.
- PyPy: vmprof, switched on and off inside the server (benchmarks/vmprof_launch.py), its raw file
  converted to speedscope's format.

Files in --out (default benchmarks/results/scratch/profiles/): VARIANT.speedscope.json, .svg
(CPython), .vmprof (PyPy), .shares.json (benchmarks/profile_shares.py). Everything started here
is stopped with its process group, on failure and Ctrl-C too. The Fibonacci variants compute in
worker threads on CPython, so their shares count every thread's samples.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

from benchmarks import vmprof_launch
from benchmarks.planning import Options, plan_pinning
from benchmarks.profile_shares import format_report, shares_report
from benchmarks.scoring import WRK_TIMEOUT_SECONDS, write_bodies
from benchmarks.scoring import wrk_plan as scoring_plan
from benchmarks.servers import RunningServer, start_server, stop_server, wait_until_healthy
from benchmarks.target import HEALTH_TIMEOUT_SECONDS, Target
from benchmarks.wrk import WrkPlan, parse_wrk_output, run_wrk, wrk_command
from processes import free_port, run_group, start_group, stop_group
from variants import ROOT, Variant, get_variant

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scratch" / "profiles"
WARMUP_SECONDS = {"cpython": 5.0, "pypy": 30.0}
FIB_PATH = "/fib/20"
DEFAULT_RATE_HZ = 200  # samples per second: thousands in 20 s, at little cost to the worker
LEAD_SECONDS = 1  # the load runs this long before the recording and after it
COMPILED_ENGINES = ("cython", "cython-typed", "mypyc")
PTRACE_REFUSED = ("permission denied", "operation not permitted")  # in py-spy's words
OUTPUTS = (".speedscope.json", ".svg", ".vmprof", ".shares.json")
STARTED = time.monotonic()


class ProfilingError(RuntimeError):
    """The profile cannot be taken (a missing tool, ptrace refused, error answers under load)."""


@dataclass(frozen=True)
class Profile:
    """What to profile, for how long, and on which CPUs."""

    variant: Variant
    seconds: int
    warmup_seconds: float
    rate_hz: int
    out: Path
    load_cpus: set[int] | None  # wrk's and the profiler's: the server's CPU stays the server's
    server_cpus: set[int] | None

    def output(self, suffix: str) -> Path:
        return self.out / f"{self.variant.name}{suffix}"

    @property
    def pypy(self) -> bool:
        return self.variant.interpreter == "pypy"


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:4.0f} s] {message}", file=sys.stderr, flush=True)


def py_spy_path(variant: Variant) -> Path:
    return variant.interpreter_path.parent / "py-spy"


def check_profiler(variant: Variant) -> None:
    """ProfilingError, with the command that installs it, if the variant's profiler is missing."""
    if variant.interpreter == "cpython":
        tool, requirements, found = "py-spy", "requirements.txt", py_spy_path(variant).exists()
    else:
        found = vmprof_launch.installed(variant.interpreter_path)
        tool, requirements = "vmprof", "requirements-pypy.txt"
    if not found:
        venv = f".venv/{variant.interpreter}"
        raise ProfilingError(
            f"{tool} is not installed in {venv}: run `make setup`, or "
            f"`{venv}/bin/python -m pip install -r benchmarks/{requirements}`"
        )


def uses_native_frames(variant: Variant) -> bool:
    """Whether the engine is compiled code, which py-spy sees only with --native (CPython)."""
    engine = dict(variant.environment).get("SCORING_ENGINE", "python")
    compiled = engine in COMPILED_ENGINES or variant.app.startswith("cython_app")
    return compiled and variant.interpreter == "cpython"


def start_profiled_server(profile: Profile, port: int) -> RunningServer:
    """One worker, as the harness starts it; under PyPy through the vmprof launcher in place of
    `-m uvicorn`, with the same arguments."""
    wrap = None
    if profile.pypy:

        def wrap(command: list[str]) -> list[str]:
            return vmprof_launch.launcher_command(
                command, profile.output(".vmprof"), profile.rate_hz
            )

    return start_server(
        profile.variant, port=port, workers=1, cpus=profile.server_cpus, direct=True, wrap=wrap
    )


def serving_process(server: RunningServer) -> psutil.Process:
    """The worker: the one process of the group that listens on the port (with one worker,
    uvicorn serves in its own process, with no supervisor)."""
    listening = [p for p in server.processes() if listens_on(p, server.port)]
    if len(listening) != 1:
        pids = [p.pid for p in listening]
        raise ProfilingError(f"expected one process listening on {server.port}, found {pids}")
    return listening[0]


def listens_on(process: psutil.Process, port: int) -> bool:
    try:
        connections = process.net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def check_can_attach(variant: Variant, pid: int) -> None:
    """ProfilingError if py-spy may not read `pid` (ptrace refused): said before any warm-up."""
    done = run_group([str(py_spy_path(variant)), "dump", "--pid", str(pid)], timeout=60)
    if done.returncode == 0:
        return
    if any(word in f"{done.stdout}{done.stderr}".lower() for word in PTRACE_REFUSED):
        who = "as root" if os.geteuid() == 0 else "not as root"
        raise ProfilingError(
            f"py-spy may not attach to pid {pid}: ptrace refused (running {who}; py-spy needs "
            "root, CAP_SYS_PTRACE in a container, or kernel.yama.ptrace_scope 0)"
        )
    raise ProfilingError(f"py-spy cannot read pid {pid}: {last_line(done)}")


def last_line(done: subprocess.CompletedProcess) -> str:
    lines = (done.stderr or done.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def load_plan(variant: Variant, base_url: str, seconds: int, bodies: Path) -> WrkPlan:
    """The benchmark's load for `variant` (benchmarks/scoring.py's plan; its Options' sizes)."""
    if variant.workload == "scoring":
        target = Target(variant, base_url)
        return scoring_plan(target, Options().scoring_connections, seconds, bodies)
    return WrkPlan(f"{base_url}{FIB_PATH}", Options().connections[0], seconds, WRK_TIMEOUT_SECONDS)


def check_answers(result: dict, during: str) -> None:
    """A profile of error pages would be no profile of the service."""
    bad = result["errors"]["non_2xx"]
    if result["requests"] == 0 or bad:
        raise ProfilingError(f"{during}: {result['requests']} answers of 2xx, {bad} errors")


def under_load(plan: WrkPlan, cpus: set[int] | None, record: Callable[[], None]) -> dict:
    """`record()` while wrk runs `plan` (longer than needed: wrk is interrupted LEAD_SECONDS after
    the recording, and reports then); wrk's result. wrk is stopped if anything fails."""
    load = start_group(
        wrk_command(plan), cpus=cpus, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(LEAD_SECONDS)
        record()
        time.sleep(LEAD_SECONDS)
        os.killpg(load.pid, signal.SIGINT)  # wrk stops and prints its report
        stdout, stderr = load.communicate(timeout=plan.timeout_seconds + 30)
    except BaseException:
        stop_group(load, grace=0)
        raise
    return parse_wrk_output(stdout, stderr, load.returncode)


def record_py_spy(profile: Profile, pid: int) -> None:
    """py-spy twice in a row: the speedscope file, then the flame graph, each profile.seconds."""
    for fmt, suffix in (("speedscope", ".speedscope.json"), ("flamegraph", ".svg")):
        say(f"{profile.variant.name}: py-spy records {fmt} for {profile.seconds} s (pid {pid})")
        out = profile.output(suffix)
        command = [str(py_spy_path(profile.variant)), "record", "--pid", str(pid)]
        command += ["--format", fmt, "--rate", str(profile.rate_hz)]
        command += ["--duration", str(profile.seconds), "--full-filenames", "--output", str(out)]
        command += ["--native"] if uses_native_frames(profile.variant) else []
        done = run_group(command, timeout=profile.seconds + 60, cpus=profile.load_cpus)
        if done.returncode != 0 or not out.exists():
            raise ProfilingError(f"py-spy record ({fmt}) failed: {last_line(done)}")


def record_vmprof(profile: Profile, pid: int) -> None:
    say(f"{profile.variant.name}: vmprof records for {profile.seconds} s (pid {pid})")
    vmprof_launch.record_by_signal(pid, profile.seconds, profile.output(".vmprof"))


def convert_vmprof(profile: Profile) -> None:
    say(f"{profile.variant.name}: converting the vmprof file to speedscope's format")
    raw, out = profile.output(".vmprof"), profile.output(".speedscope.json")
    summary = vmprof_launch.convert(profile.variant.interpreter_path, raw, profile.rate_hz, out)
    say(f"{profile.variant.name}: {summary}")


def warm_up(profile: Profile, plan: WrkPlan) -> None:
    seconds = max(1, round(profile.warmup_seconds))
    say(f"{profile.variant.name}: warming up under the same load for {seconds} s")
    result = run_wrk(replace(plan, duration_seconds=seconds), profile.load_cpus)
    check_answers(result, "warm-up")
    say(f"{profile.variant.name}: {result['requests_per_second']:.0f} requests/s at the end")


def record(profile: Profile, server: RunningServer, bodies: Path) -> None:
    """The warm-up, then the profiler under load, the server healthy and left running."""
    pid = serving_process(server).pid
    if not profile.pypy:
        check_can_attach(profile.variant, pid)
    warm_up(profile, load_plan(profile.variant, server.base_url, 1, bodies))
    recordings = 1 if profile.pypy else 2  # py-spy runs twice, one format each
    seconds = recordings * profile.seconds + 60  # a margin: under_load interrupts wrk in time
    plan = load_plan(profile.variant, server.base_url, seconds, bodies)
    recorder = record_vmprof if profile.pypy else record_py_spy
    result = under_load(plan, profile.load_cpus, lambda: recorder(profile, pid))
    check_answers(result, "profiled load")
    rps = result["requests_per_second"]
    say(f"{profile.variant.name}: {rps:.0f} requests/s while profiled (sampling costs some)")


def take_profile(profile: Profile) -> dict:
    """The whole profile of one variant: its files, and its shares report."""
    variant = profile.variant
    check_profiler(variant)
    profile.out.mkdir(parents=True, exist_ok=True)
    for suffix in OUTPUTS:  # never a mix of this run's files and an older run's
        profile.output(suffix).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="profile-bodies-") as folder:
        bodies = write_bodies(Path(folder) / "bodies.jsonl")
        say(f"{variant.name}: starting one worker ({variant.display_name})")
        server = start_profiled_server(profile, free_port())
        try:
            wait_until_healthy(server, timeout=HEALTH_TIMEOUT_SECONDS)
            record(profile, server, bodies)
        finally:
            stop_server(server)
    if profile.pypy:
        convert_vmprof(profile)
    return write_shares(profile)


def write_shares(profile: Profile) -> dict:
    variant = profile.variant
    document = json.loads(profile.output(".speedscope.json").read_text())
    native, warmup = uses_native_frames(variant), profile.warmup_seconds
    sampling = {"rate_hz": profile.rate_hz, "native": native, "warmup_seconds": warmup}
    threads = "main" if variant.workload == "scoring" else "all"
    report = shares_report(
        document, variant.name, variant.interpreter, profile.seconds, sampling, threads
    )
    profile.output(".shares.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def new_profile(
    name: str, seconds: int, out: Path, warmup: float | None = None, rate_hz: int = DEFAULT_RATE_HZ
) -> Profile:
    """A Profile of variant `name`, on benchmarks/planning.py's split of this machine's CPUs."""
    variant = get_variant(name)
    pinning = plan_pinning()
    pinned = pinning["pinned"]
    return Profile(
        variant=variant,
        seconds=seconds,
        warmup_seconds=WARMUP_SECONDS[variant.interpreter] if warmup is None else warmup,
        rate_hz=rate_hz,
        out=out,
        load_cpus=set(pinning["load_generator_cpus"]) if pinned else None,
        server_cpus=set(pinning["server_cpus"][:1]) if pinned else None,
    )


def one_line(error: Exception, name: str) -> str:
    """The error's first line and, for a server's failure, the last line of its log after it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [repr(error)]
    first = lines[0].removeprefix(f"{name}: ")
    return first if len(lines) == 1 else f"{first} {lines[-1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", help="a variant of variants.py, e.g. scoring, scoring-pypy")
    parser.add_argument("--seconds", type=int, default=20, help="recording time (default 20)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the output folder")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (CPython 5, PyPy 30)")
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE_HZ, help="samples per second")
    options = parser.parse_args(argv)
    name = options.variant
    try:
        profile = new_profile(name, options.seconds, options.out, options.warmup, options.rate)
        report = take_profile(profile)
    except KeyError as error:
        print(f"profiling: {error.args[0]}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, ValueError) as error:  # ours, the server's, wrk's, ...
        print(f"profiling: {name}: {one_line(error, name)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"profiling: {name}: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(format_report(report))
    say(f"{name}: files in {profile.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
