"""The tip "tune the JIT threshold with PYPY_JIT_THRESHOLD", measured.

PyPy reads no environment variable of that name. Its JIT is tuned on the command line,
`pypy --jit threshold=N,function_threshold=M` (defaults 1039 and 1619: `pypy --jit help` prints
them, from PARAMETERS in rpython/rlib/jit.py,
https://github.com/pypy/pypy/blob/main/rpython/rlib/jit.py), or from code with
pypyjit.set_param. So this part serves the `pypy` variant once per entry of JIT_SETTINGS: the
default, two lower thresholds, the JIT off, and the article's variable (expected to change
nothing), and records for each a warm-up curve of the same length, its time to plateau and its
plateau requests/s.

Each server has ONE worker (uvicorn then serves in its own process, so the flags given to the
interpreter are the serving process's) pinned to one CPU, with wrk on another (planning.py's
plan_pinning). That the flags arrived is checked twice: the serving process's command line (read
with psutil) must hold them right after the interpreter, and benchmarks/jit_probe.py, run with
the same flags and environment, reports when PyPy compiled its first loop (pypyjit can set a
parameter but cannot read one back). The curve's clock starts after the health wait; the
contract check runs after the curve (its requests would warm the JIT first), and a server that
fails it loses its curve. Every curve runs options.seconds: the curves are compared at equal
length, not stopped at their plateau, and the plateau figures are computed from the recorded
curve when shown (plateau_summary).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from baseline.fib_settings import DEFAULT_FIB_MAX_N
from benchmarks.environment import cpu_model
from benchmarks.formatting import (
    MISSING,
    format_number,
    format_percent,
    format_ratio,
    markdown_table,
    ratio_of,
)
from benchmarks.planning import plan_pinning, refuse_busy_cpus
from benchmarks.records import recorded_outcome
from benchmarks.results import Json
from benchmarks.servers import RunningServer, start_server, stop_server, wait_until_healthy
from benchmarks.target import HEALTH_TIMEOUT_SECONDS, fib_limit
from benchmarks.warmup import warmup_plan, warmup_record
from benchmarks.wrk import WrkPlan, run_wrk
from contract_check import failure_summary, verify
from processes import LOOPBACK, run_group
from variants import ROOT, get_variant, server_command

VARIANT = "pypy"
DEFAULT = "default"
ARTICLE = "article-variable"
ARTICLE_VARIABLE = "PYPY_JIT_THRESHOLD"
PROBE_TIMEOUT_SECONDS = 60


class JitTipError(RuntimeError):
    """A setting could not be measured as asked (its flags did not arrive, a failed contract)."""


@dataclass(frozen=True)
class JitSetting:
    name: str
    label: str
    flags: list[str] = field(default_factory=list)  # inserted right after the interpreter
    environment: dict[str, str] = field(default_factory=dict)  # added to the server's


JIT_SETTINGS: tuple[JitSetting, ...] = (
    JitSetting(DEFAULT, "default (no flag)"),
    JitSetting(
        "lower",
        "--jit threshold=200,function_threshold=300",
        ["--jit", "threshold=200,function_threshold=300"],
    ),
    JitSetting(
        "much-lower",
        "--jit threshold=20,function_threshold=30",
        ["--jit", "threshold=20,function_threshold=30"],
    ),
    JitSetting("off", "--jit off", ["--jit", "off"]),
    # The article's tip: an environment variable PyPy never reads.
    JitSetting(ARTICLE, f"{ARTICLE_VARIABLE}=100 (no flag)", [], {ARTICLE_VARIABLE: "100"}),
)


def setting_names() -> list[str]:
    return [setting.name for setting in JIT_SETTINGS]


def get_setting(name: str) -> JitSetting:
    for setting in JIT_SETTINGS:
        if setting.name == name:
            return setting
    raise KeyError(f"unknown JIT setting {name!r}; the settings are: {', '.join(setting_names())}")


@dataclass
class JitOptions:
    n: int = 20
    connections: int = 16
    seconds: float = 40.0  # every curve runs this long, plateau or not
    settings: list[str] = field(default_factory=setting_names)
    fib_max_n: int = DEFAULT_FIB_MAX_N
    allow_busy: bool = False

    @classmethod
    def quick(cls, **overrides: Any) -> JitOptions:
        """A few seconds per curve: proves the pipeline and the flags, not a figure to quote."""
        return cls(**{"seconds": 8.0, **overrides})


# Commands


def with_flags(command: list[str], flags: list[str]) -> list[str]:
    """`command` (interpreter first) with `flags` right after the interpreter, where PyPy reads
    its own options; everything after them goes to the module it runs."""
    return [command[0], *flags, *command[1:]]


def flag_wrapper(setting: JitSetting) -> Callable[[list[str]], list[str]]:
    """What start_server's `wrap` does to the uvicorn command under `setting`."""
    return lambda command: with_flags(command, setting.flags)


def setting_command(setting: JitSetting, port: int) -> list[str]:
    """The uvicorn command that serves the pypy variant under `setting` with one worker."""
    command = server_command(get_variant(VARIANT), LOOPBACK, port, 1)
    return flag_wrapper(setting)(command)


def probe_command(setting: JitSetting) -> list[str]:
    interpreter = str(get_variant(VARIANT).interpreter_path)
    return with_flags([interpreter, "-m", "benchmarks.jit_probe"], setting.flags)


def probe_jit(setting: JitSetting) -> Json:
    """benchmarks/jit_probe.py under the setting's flags and environment: when PyPy compiled its
    first loop, and the threshold defaults it was built with."""
    env = {**os.environ, **setting.environment}
    completed = run_group(probe_command(setting), timeout=PROBE_TIMEOUT_SECONDS, cwd=ROOT, env=env)
    if completed.returncode != 0:
        last = completed.stderr.strip().splitlines()[-1:]
        raise JitTipError(f"the JIT probe exited with {completed.returncode}: {last}")
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    defaults = found["defaults"]
    return {
        "first_loop_compiled_at": found["first_loop_compiled_at"],
        "default_threshold": defaults["threshold"],
        "default_function_threshold": defaults["function_threshold"],
    }


def serving_command(server: RunningServer) -> list[str]:
    """The command line of the process that serves (one worker: the process started)."""
    workers = server.workers()
    if len(workers) != 1:
        raise JitTipError(f"expected one serving process, found {len(workers)}")
    return workers[0].cmdline()


def check_flags_arrived(command: list[str], flags: list[str]) -> None:
    """The serving process runs with `flags` right after the interpreter, and no other --jit."""
    after_interpreter = command[1 : 1 + len(flags)]
    if after_interpreter != flags or "--jit" in command[1 + len(flags) :]:
        raise JitTipError(f"the server runs {command}, not with {flags} after the interpreter")


def serving_environment(server: RunningServer) -> dict[str, str]:
    try:
        return server.workers()[0].environ()
    except psutil.Error as error:
        raise JitTipError(f"cannot read the server's environment: {error}") from None


def check_environment_arrived(environment: dict[str, str], wanted: dict[str, str]) -> None:
    wrong = {k: environment.get(k) for k, v in wanted.items() if environment.get(k) != v}
    if wrong:
        raise JitTipError(f"the server's environment has {wrong}, not {wanted}")


# The curve


def fixed_length_curve(
    plan: WrkPlan, n: int, seconds: float, load_cpus: set[int] | None
) -> tuple[Json, int]:
    """1-second wrk runs for `seconds` (never stopped at the plateau, unlike warmup.warm_up), as
    the warm-up record of benchmarks/warmup.py; and the errors wrk counted over the curve."""
    started = time.monotonic()
    stamps: list[float] = []
    curve: list[float] = []
    errors = 0
    while time.monotonic() - started < seconds:
        point = run_wrk(plan, load_cpus)
        curve.append(point["requests_per_second"])
        stamps.append(round(time.monotonic() - started, 2))  # when this 1-second run ended
        errors += sum(point["errors"].values())
    return warmup_record(n, plan.connections, stamps, curve), errors


# On a fixed-length curve the plateau is its settled second half, and it is reached at the first
# point within this fraction of that level: one early point or one late dip cannot move it, as
# they move the start rule of benchmarks/warmup.py (made to decide when to stop, on short curves).
REACHED_FRACTION = 0.9
SETTLED_TOLERANCE = 0.10  # last quarter vs third: 1-second points here vary by several percent


def settled(curve: list[float]) -> bool:
    """Requests/s stopped rising: the last quarter of the curve is no higher than the one before
    it, within SETTLED_TOLERANCE (medians, so one noisy point does not decide)."""
    quarter = len(curve) // 4
    if quarter < 1:
        return False
    last, before = curve[-quarter:], curve[-2 * quarter : -quarter]
    return statistics.median(last) <= statistics.median(before) * (1 + SETTLED_TOLERANCE)


def plateau_summary(warmup: Json) -> Json:
    """Time to plateau (the end of the first point at REACHED_FRACTION of the plateau level, the
    median of the curve's second half), the median requests/s from there on, and how widely
    those points spread: their interquartile range over their median, the run's noise (robust to
    the single dip a noisy neighbour puts in a curve). None where the curve never settled."""
    curve = warmup["requests_per_second"]
    start = None
    if settled(curve):
        level = statistics.median(curve[len(curve) // 2 :])
        start = next(i for i, rps in enumerate(curve) if rps >= REACHED_FRACTION * level)
    points = [] if start is None else curve[start:]
    median = statistics.median(points) if points else None
    return {
        "plateau_start_seconds": None if start is None else warmup["seconds"][start],
        "plateau_requests_per_second": median,
        "plateau_points": len(points),
        "plateau_spread": relative_spread(points),
    }


def summary_of(entry: Json | None) -> Json:
    """A measured setting's plateau figures, computed from its recorded curve ({} without one):
    the results file keeps the curve, and the figures follow from it."""
    warmup = (entry or {}).get("warmup")
    return plateau_summary(warmup) if warmup and warmup.get("requests_per_second") else {}


def relative_spread(points: list[float]) -> float | None:
    """The interquartile range of `points` over their median; None without points."""
    if not points or not statistics.median(points):
        return None
    if len(points) < 2:
        return 0.0
    low, _, high = statistics.quantiles(points, n=4)
    return (high - low) / statistics.median(points)


# The run


def jit_section(options: JitOptions, pinning: Json) -> Json:
    return {
        "variant": VARIANT,
        "n": options.n,
        "connections": options.connections,
        "seconds_per_curve": options.seconds,
        "cpu_model": cpu_model(),
        "pinning": pinning,
        "settings": [],
    }


def setting_entry(setting: JitSetting) -> Json:
    return {
        "name": setting.name,
        "label": setting.label,
        "flags": list(setting.flags),
        "environment": dict(setting.environment),
        "status": "pending",
        "error": None,
        "probe": None,
        "runtime": None,
        "serving_command": None,
        "verification": None,
        "warmup": None,
        "errors": None,
    }


def one_worker_cpus(pinning: Json) -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, load CPUs): the server's first CPU for the one worker, wrk on its own."""
    if not pinning["pinned"]:
        return None, None
    return {pinning["server_cpus"][0]}, set(pinning["load_generator_cpus"])


def measure_jit_tips(
    options: JitOptions, say: Callable[[str], None], save: Callable[[], None], section: Json
) -> None:
    """Fill `section` (see jit_section and setting_entry) with one entry per options.settings,
    saving after each; a failed setting records why and the others still run."""
    if not 0 <= options.n <= options.fib_max_n:
        raise JitTipError(f"n must be from 0 to fib_max_n ({options.fib_max_n}), not {options.n}")
    pinning = plan_pinning()
    if not options.allow_busy:
        cpus = set(pinning["load_generator_cpus"] + pinning["server_cpus"])
        refuse_busy_cpus(cpus, allow="pass allow_busy=True")
    section.clear()
    section.update(jit_section(options, pinning))
    for name in options.settings:
        setting = get_setting(name)
        entry = setting_entry(setting)
        section["settings"].append(entry)
        with recorded_outcome(entry, setting.label, save, say, part="jit"):
            measure_setting(options, setting, pinning, entry, say)


def measure_setting(
    options: JitOptions, setting: JitSetting, pinning: Json, entry: Json, say: Callable[[str], None]
) -> None:
    server_cpus, load_cpus = one_worker_cpus(pinning)
    say(f"jit: {setting.label}: probing the JIT, starting the server")
    entry["probe"] = probe_jit(setting)
    server = start_server(
        get_variant(VARIANT),
        workers=1,
        env={**fib_limit(options.fib_max_n), **setting.environment},
        cpus=server_cpus,
        direct=True,
        wrap=flag_wrapper(setting),
    )
    try:
        entry["runtime"] = wait_until_healthy(server, HEALTH_TIMEOUT_SECONDS)["runtime"]
        entry["serving_command"] = serving_command(server)
        check_flags_arrived(entry["serving_command"], setting.flags)
        check_environment_arrived(serving_environment(server), setting.environment)
        # The curve starts cold: the contract check (dozens of requests up to fib(30)) would
        # warm the JIT first, so it runs after the curve, and a wrong server's curve is dropped.
        say(f"jit: {setting.label}: {options.seconds:g} s of GET /fib/{options.n}")
        plan = warmup_plan(f"{server.base_url}/fib/{options.n}", options.connections)
        warmup, errors = fixed_length_curve(plan, options.n, options.seconds, load_cpus)
        if server.process.poll() is not None:
            raise JitTipError(f"the server exited with {server.process.returncode}")
        entry["verification"] = verify(server.base_url, options.fib_max_n)
        if not entry["verification"]["passed"]:
            raise JitTipError(failure_summary(entry["verification"]))
        entry["warmup"], entry["errors"] = warmup, errors
    finally:
        stop_server(server)


# The table


def measured(section: Json, name: str) -> Json | None:
    for entry in section.get("settings", []):
        if entry["name"] == name and entry["status"] == "measured":
            return entry
    return None


def plateau_of(entry: Json | None) -> float | None:
    return summary_of(entry).get("plateau_requests_per_second")


def time_to_plateau_cell(entry: Json, seconds: float) -> str:
    if entry["status"] != "measured":
        return f"not measured ({entry['status']}): {entry.get('error') or 'no error recorded'}"
    start = summary_of(entry)["plateau_start_seconds"]
    return f"no plateau in {seconds:g} s" if start is None else format_number(start)


def first_compile_cell(entry: Json) -> str:
    probe = entry.get("probe")
    if not probe:
        return MISSING
    at = probe["first_loop_compiled_at"]
    return "never (no loop compiled)" if at is None else f"{at:,} iterations"


def jit_rows(section: Json) -> list[list[str]]:
    default = plateau_of(measured(section, DEFAULT))
    rows = []
    for entry in section["settings"]:
        plateau = plateau_of(entry) if entry["status"] == "measured" else None
        rows.append(
            [
                entry["label"],
                time_to_plateau_cell(entry, section["seconds_per_curve"]),
                format_number(plateau),
                format_ratio(ratio_of(plateau, default)),
                first_compile_cell(entry),
            ]
        )
    return rows


def article_sentence(section: Json) -> str:
    """Whether PYPY_JIT_THRESHOLD changed anything: its plateau against the default's, beside the
    run's noise (the wider relative interquartile range of the two plateaus' points)."""
    default, article = measured(section, DEFAULT), measured(section, ARTICLE)
    if not (plateau_of(default) and plateau_of(article)):
        return (
            f"{ARTICLE_VARIABLE}: not compared, the default and the article's variable were not "
            "both measured to a plateau."
        )
    difference = abs(plateau_of(article) / plateau_of(default) - 1)
    noise = max(summary_of(default)["plateau_spread"], summary_of(article)["plateau_spread"])
    verdict = (
        f"changed nothing measurable: its plateau is within {format_percent(difference)} of the "
        f"default's, inside this run's noise of {format_percent(noise)}"
        if difference <= noise
        else f"moved the plateau by {format_percent(difference)} against the default's, more "
        f"than this run's noise of {format_percent(noise)}, though PyPy does not read it"
    )
    probes = (
        default["probe"]["first_loop_compiled_at"],
        article["probe"]["first_loop_compiled_at"],
    )
    same = "the same" if probes[0] == probes[1] else "a different"
    return (
        f"{ARTICLE_VARIABLE}={article['environment'][ARTICLE_VARIABLE]} {verdict}; the JIT probe "
        f"compiled its first loop at {same} iteration ({probes[1]} against {probes[0]}), "
        "as PyPy reads no such variable: `--jit threshold=N` is the setting. The two are the "
        f"same configuration, so their times to plateau ({time_to_plateau_cell(default, 0)} s "
        f"and {time_to_plateau_cell(article, 0)} s) show how much a time to plateau varies "
        "from run to run here."
    )


def jit_table(section: Json) -> str:
    """The settings as a Markdown table, then the sentence about the article's variable."""
    headers = [
        "setting",
        "time to plateau s",
        "plateau requests/s",
        "vs default",
        "JIT probe: first loop compiled at",
    ]
    lines = markdown_table(headers, jit_rows(section))
    return "\n".join([*lines, "", article_sentence(section)]) + "\n"
