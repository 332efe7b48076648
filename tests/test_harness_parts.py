"""The harness's pure parts: sizing, the warm-up's plateau and loop, parsing wrk's and Locust's
output, the statistics and flags of a record, memory per worker (peak and end of run), the typed
constructors of the results file's entries, the planning of a run, and Locust's repeats."""

from __future__ import annotations

import json
from dataclasses import fields
from types import SimpleNamespace

import pytest

from benchmarks import records, sweep, warmup
from benchmarks.__main__ import MIN_LOCUST_SECONDS, build_parser
from benchmarks.locust_run import LOCUSTFILE, parse_stats
from benchmarks.planning import (
    LOCUST_OVERHEAD_SECONDS,
    QUICK,
    Options,
    estimate_seconds,
    plan_ports,
)
from benchmarks.progress import RunProgress
from benchmarks.results import RESULTS_DIR, summarize_repeats, variant_memory
from benchmarks.sampling import memory_figures
from benchmarks.warmup import plateau_reached, plateau_start_index, warmup_record
from benchmarks.wrk import (
    REPORT_SCRIPT,
    WrkError,
    WrkPlan,
    parse_wrk_output,
    size_point,
    wrk_command,
)
from variants import PYPY_GC_SETTINGS, get_variant, variant_names

WRK_LINE = (
    'WRK_JSON {"duration_us":2000000,"requests":1000,"bytes":180000,'
    '"errors":{"connect":1,"read":2,"write":3,"status":4,"timeout":5},'
    '"latency_ms":{"min":0.5,"mean":2.0,"stdev":1.0,"max":30.0,'
    '"p50":1.5,"p75":2.5,"p90":4.0,"p99":12.0,"p999":25.0}}'
)


def test_parse_wrk_output_reads_the_lua_json_line():
    text = "Running 2s test @ http://127.0.0.1:8000/fib/0\n  1 threads\n" + WRK_LINE + "\n"
    # 1000 answers, 4 of them non-2xx: 996 served in 2 s.
    assert parse_wrk_output(text) == {
        "requests": 996,
        "duration_seconds": 2.0,
        "requests_per_second": 498.0,
        "latency_ms": {"p50": 1.5, "p90": 4.0, "p99": 12.0, "max": 30.0},
        "errors": {"connect": 1, "read": 2, "write": 3, "timeout": 5, "non_2xx": 4},
    }


def test_parse_wrk_output_without_a_result_says_what_wrk_printed():
    with pytest.raises(
        WrkError, match="wrk exited with 1 and printed no result: unable to connect"
    ):
        parse_wrk_output("", "unable to connect to 127.0.0.1:1", 1)


def test_a_fast_point_runs_for_the_base_duration():
    plan = size_point(
        "http://127.0.0.1:1/fib/0", 16, expected_rps=5000, base_seconds=3, max_seconds=20
    )
    assert plan == WrkPlan("http://127.0.0.1:1/fib/0", 16, 3, 5)


def test_a_slow_point_runs_long_enough_for_two_answers_per_connection():
    # ~6 requests/s (the baseline at n=30 on one core) with 64 connections queued
    plan = size_point(
        "http://127.0.0.1:1/fib/30", 64, expected_rps=6.4, base_seconds=3, max_seconds=60
    )
    assert plan.duration_seconds == 20  # 2 × 64 / 6.4
    assert plan.timeout_seconds == 30  # 3 × 64 / 6.4: queued requests are measured, not timed out


def test_the_longest_point_is_capped():
    plan = size_point(
        "http://127.0.0.1:1/fib/35", 64, expected_rps=0.5, base_seconds=3, max_seconds=20
    )
    assert plan.duration_seconds == 20


def test_wrk_command_uses_the_lua_report_and_whole_seconds():
    command = wrk_command(WrkPlan("http://127.0.0.1:1/fib/0", 16, 3, 5))
    assert command[1:] == [
        "--threads=1", "--connections=16", "--duration=3s", "--timeout=5s",
        f"--script={REPORT_SCRIPT}", "--latency", "http://127.0.0.1:1/fib/0",
    ]  # fmt: skip
    assert REPORT_SCRIPT.read_text().count("WRK_JSON ") == 1  # the line parse_wrk_output reads


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ([100, 200, 300, 400, 500, 600], False),  # still rising
        ([100, 400, 505, 500, 510, 502, 508, 505], True),  # flat for the last 6 s
        ([500, 500, 500, 500, 500], False),  # too short to tell
        ([900, 800, 700, 600, 500, 400], True),  # falling is not rising
    ],
)
def test_plateau_is_when_requests_per_second_stop_rising(curve, expected):
    assert plateau_reached([float(v) for v in curve]) is expected


@pytest.mark.parametrize(
    ("curve", "start"),
    [
        # Flat from the first second: the plateau starts there, not at the sixth.
        ([500, 500, 500, 500, 500, 500], 0),
        ([505, 500, 510, 502, 508, 505], 0),
        # Rising, then flat: the first flat point (505 is within 5% of 500, the window's lowest).
        ([100, 400, 505, 500, 510, 502, 508, 505], 2),
        # 470 is 6% below the window's lowest (500): the plateau starts after it.
        ([500, 500, 470, 500, 510, 500, 500, 505], 3),
        # Higher early points are not a warm-up: only falls below the level count.
        ([1190, 1187, 1176, 1181, 1084, 1098], 0),
        ([900, 800, 700, 600, 500, 400], 0),  # falling: nothing to wait for
        ([100, 200, 300, 400, 500, 600], None),  # no plateau yet
        ([500, 500, 500, 500, 500], None),  # too short to tell
    ],
)
def test_the_plateau_starts_at_its_first_point(curve, start):
    assert plateau_start_index([float(v) for v in curve]) == start


def test_the_warm_up_record_reports_the_plateau_start_in_seconds_of_load():
    seconds = [1.31, 2.42, 3.54, 4.65, 5.77, 6.88, 8.0, 9.11]
    curve = [100.0, 400.0, 1150.0, 1190.0, 1200.0, 1180.0, 1210.0, 1195.0]
    assert warmup_record(20, 16, seconds, curve) == {
        "n": 20,
        "connections": 16,
        "seconds": seconds,
        "requests_per_second": curve,
        "plateau_reached": True,
        "plateau_start_seconds": 3.54,
    }


def test_a_warm_up_without_plateau_has_no_plateau_start():
    record = warmup_record(20, 16, [1.1, 2.2, 3.3], [100.0, 200.0, 300.0])
    assert (record["plateau_reached"], record["plateau_start_seconds"]) == (False, None)


LOCUST_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,\
95%,98%,99%,99.9%,99.99%,100%
GET,/fib/25,100,0,20,21.0,15,40.5,120,10.0,0.0,20,21,22,23,30,31,35,38,40,40,40
GET,/health,50,1,2,2.5,1,9.0,70,5.0,0.1,2,2,3,3,4,5,6,8,9,9,9
,Aggregated,150,1,10,14.8,1,40.5,103,15.0,0.1,10,18,20,21,25,30,34,37,40,40,40
"""


def test_parse_locust_stats_reads_the_aggregated_row():
    stats = parse_stats(LOCUST_CSV)
    assert stats == {
        "requests": 150,
        "requests_per_second": 15.0,
        "latency_ms": {"p50": 10.0, "p90": 25.0, "p99": 37.0, "max": 40.5},
        "errors": {"failures": 1},
        "per_endpoint": {
            "/fib/25": {"requests": 100, "failures": 0},
            "/health": {"requests": 50, "failures": 1},
        },
    }


NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non_2xx": 0}


def repeat(
    rps: float,
    load_cpu: float = 0.5,
    errors: dict | None = None,
    uss: tuple[float | None, float | None] = (40.0, 39.0),
    pss: tuple[float | None, float | None] = (42.0, 41.0),
) -> dict:
    """A REPEAT; `uss` and `pss` are (peak, end) MiB per worker."""
    return {
        "requests_per_second": rps,
        "requests": int(rps),
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0},
        "errors": {**NO_ERRORS, **(errors or {})},
        "server_cpu_cores": 1.0,
        "load_generator_cpu": load_cpu,
        "uss_mib_per_worker_peak": uss[0],
        "uss_mib_per_worker_end": uss[1],
        "pss_mib_per_worker_peak": pss[0],
        "pss_mib_per_worker_end": pss[1],
    }


def test_summary_of_steady_repeats_is_reliable():
    summary = summarize_repeats([repeat(1000), repeat(1010), repeat(990)], [1.0, 2.0, 3.0])
    assert summary["requests_per_second"]["median"] == 1000
    assert summary["requests_per_second"]["cv"] == pytest.approx(0.01)
    assert summary["errors"] == {
        "connect": 0, "read": 0, "write": 0, "timeout": 0, "non_2xx": 0, "total": 0,
    }  # fmt: skip
    assert summary["compute_time_ms"] == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert summary["unreliable"] == []


def test_summary_flags_spread_and_a_saturated_load_generator():
    summary = summarize_repeats([repeat(1000), repeat(1500, load_cpu=0.97)], None)
    assert summary["load_generator_saturated"] is True
    assert summary["unreliable"] == [
        "requests/s varied by 28% (CV) over repeats",
        "the load generator used 97% of its cores",
    ]


def test_a_single_repeat_is_flagged_and_has_no_cv():
    summary = summarize_repeats([repeat(1000)], None)
    assert summary["requests_per_second"] == {
        "median": 1000, "min": 1000, "max": 1000, "cv": None,
    }  # fmt: skip
    assert summary["unreliable"] == ["one repeat, so no spread was measured"]


def test_any_error_flags_the_row():
    repeats = [repeat(1000), repeat(1000, errors={"timeout": 1, "non_2xx": 2})]
    summary = summarize_repeats(repeats, None)
    assert summary["errors"] == {
        "connect": 0, "read": 0, "write": 0, "timeout": 1, "non_2xx": 2, "total": 3,
    }  # fmt: skip
    assert summary["unreliable"] == ["3 errors (timeout 1, non-2xx answers 2)"]


def test_a_locust_failure_flags_the_row():
    repeats = [
        {**repeat(800), "errors": {"failures": 1}},
        {**repeat(800), "errors": {"failures": 0}},
    ]
    assert summarize_repeats(repeats, None)["unreliable"] == ["1 error (failures 1)"]


def test_summary_memory_is_the_highest_peak_and_the_last_end():
    repeats = [
        repeat(1000, uss=(40.0, 39.0), pss=(42.0, 41.0)),
        repeat(1000, uss=(45.0, 41.0), pss=(47.0, 43.0)),
        repeat(1000, uss=(44.0, 43.5), pss=(46.0, 45.5)),
    ]
    summary = summarize_repeats(repeats, None)
    assert {key: value for key, value in summary.items() if "mib" in key} == {
        "uss_mib_per_worker_peak": 45.0,
        "uss_mib_per_worker_end": 43.5,
        "pss_mib_per_worker_peak": 47.0,
        "pss_mib_per_worker_end": 45.5,
    }


def test_a_runs_memory_is_its_highest_and_its_last_sample():
    # (USS, PSS) per worker, a sample a second: PyPy's heap rises, then a collection frees some.
    samples = [(100.0, 102.0), (180.0, 183.0), (150.0, 152.0)]
    assert memory_figures(samples) == {
        "uss_mib_per_worker_peak": 180.0,
        "uss_mib_per_worker_end": 150.0,
        "pss_mib_per_worker_peak": 183.0,
        "pss_mib_per_worker_end": 152.0,
    }
    assert set(memory_figures([]).values()) == {None}


def record_of(*repeats: dict) -> dict:
    return {"variant": "pypy", "repeats": list(repeats)}


def test_a_variants_memory_is_the_peak_of_all_runs_and_the_end_of_the_last():
    records = [
        record_of(repeat(1, uss=(600.0, 590.0), pss=(605.0, 595.0))),
        record_of(
            repeat(1, uss=(800.0, 780.0), pss=(805.0, 785.0)),
            repeat(1, uss=(790.0, 770.0), pss=(795.0, 775.0)),
        ),
    ]
    assert variant_memory(records) == {
        "peak_uss_mib_per_worker": 800.0,
        "peak_pss_mib_per_worker": 805.0,
        "end_uss_mib_per_worker": 770.0,
        "end_pss_mib_per_worker": 775.0,
    }


def test_a_variant_whose_memory_was_not_sampled_has_none():
    unsampled = repeat(1, uss=(None, None), pss=(None, None))
    assert set(variant_memory([record_of(unsampled)]).values()) == {None}


def test_the_ladder_measures_each_interpreters_stack_and_the_other_beside_it():
    from benchmarks.ladder_plan import ladder_stacks

    stacks = [(s.interpreter, s.loop, s.http, s.chosen) for s in ladder_stacks(variant_names())]
    baseline, pypy = get_variant("baseline"), get_variant("pypy")
    assert stacks == [
        ("cpython", baseline.loop, baseline.http, True),
        ("cpython", "uvloop", "httptools", False),
        ("pypy", pypy.loop, pypy.http, True),
        ("pypy", "asyncio", "h11", False),
    ]
    assert [(s.loop, s.chosen) for s in ladder_stacks(["cython"])] == [
        ("asyncio", True),
        ("uvloop", False),
    ]
    chosen_only = ladder_stacks(variant_names(), other_stacks=False)  # make bench-quick's
    assert [(s.interpreter, s.chosen) for s in chosen_only] == [("cpython", True), ("pypy", True)]


def test_a_stacks_rungs_go_from_the_bare_server_to_the_offloaded_contract():
    from benchmarks.ladder_plan import Stack, ladder_rungs

    rungs = ladder_rungs(Stack("pypy", "asyncio", "h11", chosen=False), variant_names())
    assert [rung.key for rung in rungs] == [
        "asgi", "starlette", "fastapi", "variant:pypy", "variant:pypy-cython", "offloaded:pypy",
    ]  # fmt: skip
    # Every rung is served the same way: the stack's loop and parser, PyPy's GC settings.
    assert {(r.server.interpreter, r.server.loop, r.server.http) for r in rungs} == {
        ("pypy", "asyncio", "h11")
    }
    assert all(r.server.environment[: len(PYPY_GC_SETTINGS)] == PYPY_GC_SETTINGS for r in rungs)
    assert rungs[0].server.app == "benchmarks.ladder_apps:bare_asgi"
    assert rungs[3].server.app == get_variant("pypy").app
    assert dict(rungs[-1].server.environment)["FIB_INLINE_SECONDS"] == "0"
    assert "FIB_INLINE_SECONDS" not in dict(rungs[3].server.environment)


def test_a_plan_can_ask_for_a_new_connection_per_request():
    plan = WrkPlan("http://127.0.0.1:1/fib/30", 16, 3, 10, new_connection_per_request=True)
    command = wrk_command(plan)
    assert command[-2:] == ["--header=Connection: close", "http://127.0.0.1:1/fib/30"]
    assert "--header=Connection: close" not in wrk_command(WrkPlan("http://x/", 16, 3, 10))


def test_the_warm_up_runs_until_the_plateau_and_stamps_each_point(monkeypatch):
    # Flat from the third point: the rule fires at the eighth, the ninth is never run.
    curve = iter([100.0, 400.0, 500.0, 505.0, 500.0, 510.0, 502.0, 508.0, 999.0])
    plans = []

    def fake_wrk(plan: WrkPlan, cpus: set[int]) -> dict:
        plans.append(plan)
        return {"requests_per_second": next(curve)}

    monkeypatch.setattr(warmup, "run_wrk", fake_wrk)
    plan = warmup.warmup_plan("http://127.0.0.1:1/fib/20", 16)
    record = warmup.warm_up(plan, 20, 60.0, {0})
    assert record["requests_per_second"] == [100, 400, 500, 505, 500, 510, 502, 508]
    assert record["plateau_reached"] and (record["n"], record["connections"]) == (20, 16)
    assert record["plateau_start_seconds"] == record["seconds"][2]
    assert all(second == round(second, 2) for second in record["seconds"])
    assert set(plans) == {WrkPlan("http://127.0.0.1:1/fib/20", 16, 1, 10)}


def test_the_warm_up_stops_at_its_limit_without_a_plateau(monkeypatch):
    monkeypatch.setattr(warmup, "run_wrk", lambda plan, cpus: {"requests_per_second": 1.0})
    plan = warmup.warmup_plan("http://127.0.0.1:1/fib/0", 16)
    record = warmup.warm_up(plan, 0, 0.0, {0})
    assert record["requests_per_second"] == [] and record["plateau_start_seconds"] is None


REFERENCE = json.loads((RESULTS_DIR / "latest.json").read_text())


def entries_of_the_reference() -> dict[str, dict]:
    """One entry of each kind, as the committed reference results hold them."""
    ladder, cores = REFERENCE["ladder"], REFERENCE["cores"]
    by_tool = {record["tool"]: record for record in REFERENCE["records"]}
    return {
        "variant": REFERENCE["variants"]["pypy"],
        "wrk": by_tool["wrk"],
        "locust": by_tool["locust"],
        "ladder": ladder,
        "stack": ladder["stacks"][0],
        "rung": ladder["stacks"][0]["rungs"][0],
        "cores": cores,
        "cores run": cores["runs"][0],
        "micro": REFERENCE["micro"],
    }


def test_the_constructors_write_the_keys_of_the_format_in_its_order():
    stack = records.ladder_stack_entry("pypy", "asyncio", "h11", chosen=False)
    built = {
        "variant": records.variant_entry(get_variant("pypy")),
        "wrk": records.wrk_record("pypy", 20, 16, 3, [repeat(1000)], [1.0]),
        "locust": records.locust_record("pypy", 16, 10.0, [{**repeat(800), "errors": {}}]),
        "ladder": records.ladder_section("/fib/0", 16, 2, 3),
        "stack": stack,
        "rung": records.rung_entry("asgi", "bare ASGI app", None, "m:app", {}),
        "cores": records.cores_section(30, 16, [0, 1], "shared"),
        "cores run": records.cores_run_entry("pypy", 2),
        "micro": records.micro_section(25, [], "no compiler"),
    }
    reference = entries_of_the_reference()
    assert {kind: list(entry) for kind, entry in built.items()} == {
        kind: list(entry) for kind, entry in reference.items()
    }
    assert (built["wrk"]["scenario"], built["locust"]["scenario"]) == ("fib", "mixed")
    assert built["locust"]["n"] is None
    assert (stack["status"], stack["error"], stack["rungs"]) == ("pending", None, [])


@pytest.mark.parametrize(
    "build",
    [
        lambda: records.wrk_record("jython", 20, 16, 3, [repeat(1)], None),  # no such variant
        lambda: records.wrk_record("pypy", -1, 16, 3, [repeat(1)], None),
        lambda: records.wrk_record("pypy", 20, 0, 3, [repeat(1)], None),
        lambda: records.wrk_record("pypy", 20, 16, 3, [], None),
        lambda: records.wrk_record("pypy", 20, 16, 3, (repeat(1),), None),  # not a list
        lambda: records.locust_record("pypy", 16, 0, [repeat(1)]),
        lambda: records.ladder_stack_entry("jython", "asyncio", "h11", chosen=True),
        lambda: records.ladder_stack_entry("pypy", "asyncio", "h11", chosen="yes"),
        lambda: records.rung_entry("django", "Django route", None, "m:app", {}),
        lambda: records.rung_entry("fastapi", "FastAPI route", "pypy", "m:app", {}),
        lambda: records.rung_entry("variant:pypy", "PyPy", None, "m:app", {}),
        lambda: records.rung_entry("compiled:pypy", "PyPy", "pypy", "m:app", {}),
        lambda: records.cores_run_entry("pypy", 0),
        lambda: records.cores_section(30, 16, [], "no CPUs"),
        lambda: records.set_status({}, "done"),
        lambda: records.set_status({}, "failed"),  # a failure says why
        lambda: records.set_status({}, "measured", "but it failed"),
    ],
)
def test_the_constructors_refuse_what_the_format_does_not_allow(build):
    with pytest.raises(records.RecordError):
        build()


class Log:
    """What recorded_outcome saved and said."""

    def __init__(self) -> None:
        self.saves = 0
        self.said: list[str] = []

    def save(self) -> None:
        self.saves += 1


def test_a_measured_entry_is_marked_and_saved():
    entry, log = records.cores_run_entry("pypy", 1), Log()
    with records.recorded_outcome(entry, "pypy x1", log.save, log.said.append, part="cores"):
        pass
    assert (entry["status"], entry["error"], log.saves, log.said) == ("measured", None, 1, [])


def test_a_failure_is_recorded_and_said_and_the_run_goes_on():
    entry, log = records.cores_run_entry("pypy", 1), Log()
    with records.recorded_outcome(entry, "pypy x1", log.save, log.said.append, part="cores"):
        raise RuntimeError("no answer")
    assert (entry["status"], entry["error"]) == ("failed", "pypy x1: no answer")
    assert (log.saves, log.said) == (1, ["[red]cores pypy x1 failed:[/red] no answer"])


def test_an_interruption_is_saved_and_goes_on():
    entry, log = records.variant_entry(get_variant("pypy")), Log()
    outcome = records.recorded_outcome(entry, "pypy", log.save, log.said.append)
    with pytest.raises(KeyboardInterrupt), outcome:
        raise KeyboardInterrupt
    assert (entry["status"], entry["error"]) == ("interrupted", "interrupted before it finished")
    assert log.saves == 1


def test_the_quick_preset_sets_options_to_shorter_values():
    defaults = Options()
    assert set(QUICK) <= {field.name for field in fields(Options)}
    assert all(getattr(defaults, key) != value for key, value in QUICK.items())


def test_the_quick_preset_gives_locust_the_time_it_needs():
    assert QUICK["locust_seconds"] >= MIN_LOCUST_SECONDS
    assert QUICK["scoring_locust_seconds"] >= MIN_LOCUST_SECONDS


@pytest.mark.parametrize("flag", ["--locust-seconds", "--scoring-locust-seconds"])
@pytest.mark.parametrize("value", ["1", "1.5", "-2", "soon", "inf"])
def test_a_locust_run_too_short_to_complete_a_request_is_refused(flag, value, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["run", flag, value])
    assert stop.value.code == 2
    assert "expected 0 (skip Locust) or at least 2 seconds" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "2", "10"])
def test_locust_seconds_of_zero_or_two_and_more_are_taken(value):
    assert build_parser().parse_args(["run", "--locust-seconds", value]).locust_seconds == float(
        value
    )


def test_the_eta_follows_the_pace_once_enough_has_run():
    progress = RunProgress(quiet=True)
    progress.start(100.0)
    progress.done = 10.0
    assert progress.pace(elapsed=30.0) == 1.0  # too little done to judge the estimate
    progress.done = 40.0
    assert progress.pace(elapsed=30.0) == 0.75  # running faster than estimated
    assert progress.pace(elapsed=60.0) == 1.5
    assert progress.pace(elapsed=400.0) == 2.0  # bounded: one slow step does not explode it


def test_the_first_estimate_of_a_quick_run_is_within_its_recorded_length():
    options = Options(**QUICK)
    # a quick run took 2 min 20 s here; the first ETA announced 4 min 23 s before it was fixed
    assert 100 < estimate_seconds(options) < 200


def test_ports_are_the_overrides_else_each_variants_default():
    options = Options(variants=["baseline", "pypy"], ports={"pypy": 9100})
    assert plan_ports(options) == {"baseline": get_variant("baseline").default_port, "pypy": 9100}


# Locust, repeated like wrk (benchmarks/sweep.py, benchmarks/scoring.py)


class FakeRun:
    """A Run (benchmarks/stage.py) that measures nothing: each load is called as the harness
    calls it, and the progress steps and records are kept."""

    def __init__(self, options: Options) -> None:
        self.options, self.load_cpus = options, {0}
        self.progress = self
        self.steps: list[tuple[str, float]] = []
        self.records: list[dict] = []

    def step(self, label: str, seconds: float, planned: float | None = None) -> None:
        self.steps.append((label, seconds))

    def sampled_run(self, target, load, load_cpus: int | None = None) -> dict:
        return load()

    def add_record(self, record: dict) -> None:
        self.records.append(record)


def fake_locust(calls: list):
    """run_locust, answering each call with 10 requests/s more than the last."""

    def run_locust(host, users, seconds, cpus, processes, locustfile):
        calls.append((host, users, seconds, cpus, locustfile))
        return {**repeat(900 + 10 * len(calls)), "errors": {"failures": 0}}

    return run_locust


TARGET = SimpleNamespace(base_url="http://127.0.0.1:1", variant=get_variant("pypy"))


def test_the_mixed_scenario_runs_locust_repeats_fresh_runs(monkeypatch):
    calls: list = []
    monkeypatch.setattr(sweep, "run_locust", fake_locust(calls))
    run = FakeRun(Options())
    sweep.measure_locust(run, TARGET)
    assert calls == [("http://127.0.0.1:1", 16, 5.0, {0}, LOCUSTFILE)] * 3
    (record,) = run.records
    assert (record["tool"], record["connections"], record["duration_seconds"]) == ("locust", 16, 5)
    assert [r["requests_per_second"] for r in record["repeats"]] == [910, 920, 930]
    spread = record["summary"]["requests_per_second"]
    assert (spread["median"], spread["min"], spread["max"]) == (920, 910, 930)
    assert spread["cv"] == pytest.approx(10 / 920)
    assert record["summary"]["unreliable"] == []  # three runs: a spread was measured
    assert run.steps == [
        (f"pypy: locust mixed scenario ({index}/3, 5 s)", 5 + LOCUST_OVERHEAD_SECONDS)
        for index in (1, 2, 3)
    ]


def test_no_locust_seconds_runs_no_locust(monkeypatch):
    calls: list = []
    monkeypatch.setattr(sweep, "run_locust", fake_locust(calls))
    run = FakeRun(Options(locust_seconds=0))
    sweep.measure_locust(run, TARGET)
    assert (calls, run.records) == ([], [])


def test_the_case_study_runs_its_locust_repeats_with_its_scenario(monkeypatch):
    from benchmarks import scoring

    calls: list = []
    monkeypatch.setattr(sweep, "run_locust", fake_locust(calls))
    run = FakeRun(Options(scoring_locust_repeats=2))
    load = scoring.measure_locust(run, TARGET)
    assert calls == [("http://127.0.0.1:1", 16, 4.0, {0}, scoring.LOCUSTFILE)] * 2
    assert (load["tool"], load["duration_seconds"], len(load["repeats"])) == ("locust", 4, 2)
    assert load["summary"]["requests_per_second"]["median"] == 915


def test_locust_is_repeated_three_times_by_default_and_once_in_a_quick_run():
    defaults = Options()
    assert (defaults.locust_repeats, defaults.scoring_locust_repeats) == (3, 3)
    assert (QUICK["locust_repeats"], QUICK["scoring_locust_repeats"]) == (1, 1)


def test_the_estimate_counts_every_locust_repeat():
    once = estimate_seconds(Options(locust_repeats=1, scoring_locust_repeats=1))
    thrice = estimate_seconds(Options())
    variants, flavours = len(Options().variants), len(Options().scoring_variants)
    assert thrice - once == pytest.approx(
        2 * variants * (5 + LOCUST_OVERHEAD_SECONDS) + 2 * flavours * (4 + LOCUST_OVERHEAD_SECONDS)
    )


def test_repeating_locust_adds_at_most_a_minute_to_the_full_run():
    # Before: one Locust run of 10 s per variant and one of 8 s per flavour of the case study.
    before = Options(
        locust_seconds=10, locust_repeats=1, scoring_locust_seconds=8, scoring_locust_repeats=1
    )
    assert 0 < estimate_seconds(Options()) - estimate_seconds(before) <= 60
