"""The harness's pure parts: sizing, plateau detection, parsing wrk's and Locust's output, and the
statistics and flags of a record."""

from __future__ import annotations

import pytest

from benchmarks.locust_run import parse_stats
from benchmarks.results import summarize_repeats
from benchmarks.runner import plateau_reached
from benchmarks.wrk import WrkError, WrkPlan, parse_wrk_output, size_point, wrk_command

WRK_LINE = (
    'WRK_JSON {"duration_us":2000000,"requests":1000,"bytes":180000,'
    '"errors":{"connect":1,"read":2,"write":3,"status":4,"timeout":5},'
    '"latency_ms":{"min":0.5,"mean":2.0,"stdev":1.0,"max":30.0,'
    '"p50":1.5,"p75":2.5,"p90":4.0,"p99":12.0,"p999":25.0}}'
)


def test_parse_wrk_output_reads_the_lua_json_line():
    text = "Running 2s test @ http://127.0.0.1:8000/fib/0\n  1 threads\n" + WRK_LINE + "\n"
    assert parse_wrk_output(text) == {
        "requests": 1000,
        "duration_seconds": 2.0,
        "requests_per_second": 500.0,
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
    assert command[1:6] == [
        "--threads=1", "--connections=16", "--duration=3s", "--timeout=5s",
        command[5],
    ]  # fmt: skip
    assert command[5].endswith("benchmarks/wrk/report.lua")
    assert command[-1] == "http://127.0.0.1:1/fib/0"


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


def repeat(rps: float, load_cpu: float = 0.5) -> dict:
    return {
        "requests_per_second": rps,
        "requests": int(rps),
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0},
        "errors": {"connect": 0, "read": 0, "write": 0, "timeout": 1, "non_2xx": 2},
        "server_cpu_cores": 1.0,
        "load_generator_cpu": load_cpu,
        "uss_mib_per_worker": 40.0,
        "pss_mib_per_worker": 42.0,
    }


def test_summary_of_steady_repeats_is_reliable():
    summary = summarize_repeats([repeat(1000), repeat(1010), repeat(990)], [1.0, 2.0, 3.0])
    assert summary["requests_per_second"]["median"] == 1000
    assert summary["requests_per_second"]["cv"] == pytest.approx(0.01)
    assert summary["errors"] == {
        "connect": 0, "read": 0, "write": 0, "timeout": 3, "non_2xx": 6, "total": 9,
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
