"""vmprof for a PyPy server: the launcher it runs under, and how benchmarks/profiling.py drives it.

    python -m benchmarks.vmprof_launch serve RAW_FILE RATE_HZ UVICORN_ARGUMENTS...
    python -m benchmarks.vmprof_launch speedscope RAW_FILE RATE_HZ OUT.speedscope.json

vmprof samples from inside the process it profiles, so the profiled server starts through `serve`
in place of `-m uvicorn`: it installs two signal handlers, then runs uvicorn's own command line in
this process (with one worker, uvicorn serves in the process that runs it). SIGUSR1 starts sampling
into RAW_FILE; SIGUSR2 stops it, completes the file and then creates RAW_FILE.done. So the profile
holds the measured load only, after the JIT has warmed up, not the interpreter's first seconds.
vmprof samples on CPU time (SIGPROF), so a worker waiting for requests is not sampled, as with
py-spy.

`speedscope` turns vmprof's own binary file into speedscope's JSON, the format py-spy writes, so
benchmarks/profile_shares.py reads both profilers' files alike, and prints how many samples ran
JIT-compiled code. Both commands run under PyPy: the vmprof package imports PyPy's built-in
`_vmprof`. The functions at the end are the profiling side's (CPython): the launcher's command,
the recording by signal, the conversion.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

START_SIGNAL = signal.SIGUSR1
STOP_SIGNAL = signal.SIGUSR2
FINISH_TIMEOUT_SECONDS = 30


def install_switches(raw_path: str, rate_hz: float) -> None:
    """SIGUSR1 starts vmprof into `raw_path`; SIGUSR2 stops it, then marks the file complete."""
    import vmprof

    # Read and write: vmprof.disable() reads its samples back before it closes the profile.
    fd = os.open(raw_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def start(signum: int, frame: Any) -> None:
        if not vmprof.is_enabled():
            # native=False: PyPy's vmprof walks the Python and JIT frames; time in C code (cpyext
            # modules such as pydantic-core) lands on the Python frame that called it.
            vmprof.enable(fd, 1.0 / rate_hz, native=False, real_time=False)

    def stop(signum: int, frame: Any) -> None:
        if vmprof.is_enabled():
            vmprof.disable()
            os.fsync(fd)
        Path(f"{raw_path}.done").touch()

    signal.signal(START_SIGNAL, start)
    signal.signal(STOP_SIGNAL, stop)


def serve(raw_path: str, rate_hz: float, uvicorn_arguments: list[str]) -> None:
    """uvicorn's command line, in this process, with the vmprof switches installed."""
    from uvicorn.main import main as uvicorn_main

    install_switches(raw_path, rate_hz)
    uvicorn_main.main(args=uvicorn_arguments, prog_name="uvicorn")


def frame_of(description: str) -> dict[str, Any]:
    """A speedscope frame from vmprof's "lang:name:line:file" ("py:score:29:/…/engine.py")."""
    _, name, line, file = description.split(":", 3)
    return {"name": name, "file": file, "line": int(line) if line.isdigit() else None}


def speedscope_document(raw_path: str, rate_hz: float) -> tuple[dict[str, Any], int]:
    """vmprof's samples as a speedscope document (stacks root first, one sampling period each),
    and how many samples were in JIT-compiled code. PyPy's vmprof records no thread ids (all 0),
    so the process's samples form one profile."""
    import vmprof
    from vmprof.reader import AssemblerCode, JittedCode

    stats = vmprof.read_profile(raw_path)
    frames: list[dict[str, Any]] = []
    index_of: dict[int, int] = {}
    stacks_by_thread: dict[int, list[list[int]]] = {}
    jitted = 0
    for trace, _count, thread_id, _memory in stats.profiles:
        jitted += any(isinstance(address, JittedCode) for address in trace)
        stack: list[int] = []
        for address in trace:
            # Addresses in the JIT's machine code have no Python frame to name.
            if isinstance(address, AssemblerCode) or address not in stats.adr_dict:
                continue
            if address not in index_of:
                index_of[address] = len(frames)
                frames.append(frame_of(stats.adr_dict[address]))
            # A repeat of the frame above is merged, as in vmprof's own tree (JIT-ed frames repeat).
            if not stack or stack[-1] != index_of[address]:
                stack.append(index_of[address])
        stacks_by_thread.setdefault(thread_id, []).append(stack)
    threads = sorted(stacks_by_thread.items(), key=lambda item: -len(item[1]))
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "exporter": f"vmprof@{metadata.version('vmprof')}",
        "name": "vmprof profile",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [thread_profile(tid, stacks, 1.0 / rate_hz) for tid, stacks in threads],
    }
    return document, jitted


def thread_profile(thread_id: int, stacks: list[list[int]], period: float) -> dict[str, Any]:
    return {
        "type": "sampled",
        "name": f"Thread {thread_id}",
        "unit": "seconds",
        "startValue": 0.0,
        "endValue": len(stacks) * period,
        "samples": stacks,
        "weights": [period] * len(stacks),
    }


def write_speedscope(raw_path: str, rate_hz: float, out_path: str) -> None:
    document, jitted = speedscope_document(raw_path, rate_hz)
    with open(out_path, "w") as out:
        json.dump(document, out)
    samples = sum(len(profile["samples"]) for profile in document["profiles"])
    print(f"vmprof: {samples} samples, {jitted} of them in JIT-compiled code")


# The profiling side (benchmarks/profiling.py, under CPython).


def launcher_command(uvicorn_command: list[str], raw_path: Path, rate_hz: int) -> list[str]:
    """`python -m uvicorn ARGS` as `python -m benchmarks.vmprof_launch serve RAW RATE ARGS`."""
    interpreter, module_flag, module, *arguments = uvicorn_command
    if (module_flag, module) != ("-m", "uvicorn"):
        raise ValueError(f"not a `-m uvicorn` command: {uvicorn_command}")
    launcher = ["-m", "benchmarks.vmprof_launch", "serve", str(raw_path), str(rate_hz)]
    return [interpreter, *launcher, *arguments]


def record_by_signal(pid: int, seconds: float, raw_path: Path) -> None:
    """vmprof on in `pid` for `seconds`; back once the launcher has completed the file."""
    done = Path(f"{raw_path}.done")
    done.unlink(missing_ok=True)
    os.kill(pid, START_SIGNAL)
    time.sleep(seconds)
    os.kill(pid, STOP_SIGNAL)
    deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
    while not done.exists():
        if time.monotonic() > deadline:
            seconds = FINISH_TIMEOUT_SECONDS
            raise RuntimeError(f"vmprof did not complete {raw_path.name} {seconds} s after SIGUSR2")
        time.sleep(0.1)
    done.unlink()


def convert(pypy: Path, raw_path: Path, rate_hz: int, out: Path) -> str:
    """`speedscope` under PyPy (see the module docstring): its summary line; RuntimeError with
    the reason if it fails."""
    from processes import run_group

    arguments = ["speedscope", str(raw_path), str(rate_hz), str(out)]
    command = [str(pypy), "-m", "benchmarks.vmprof_launch", *arguments]
    done = run_group(command, timeout=300, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(f"converting {raw_path.name} failed: {lines[-1]}")
    return done.stdout.strip()


def installed(pypy: Path) -> bool:
    """Whether the vmprof package imports under `pypy`."""
    from processes import run_group

    return run_group([str(pypy), "-c", "import vmprof"], timeout=60).returncode == 0


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "serve":
        serve(argv[1], float(argv[2]), argv[3:])
        return 0
    if len(argv) == 4 and argv[0] == "speedscope":
        write_speedscope(argv[1], float(argv[2]), argv[3])
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
