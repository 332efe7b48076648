"""The case study (case-study/fraud-detection-migration.md): the capacity arithmetic of its deploy
step (case-study/capacity.py) on hand-made inputs, and its generated parts, which must be what the
committed reference results render to (regenerate with `python -m benchmarks.case_study_doc
update`). The fixtures in tests/data are trimmed from a smoke run: test data, not measurements."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmarks.case_study_doc import (
    BLOCKS,
    CASE_STUDY_DOC,
    PROFILE_SHARES,
    block_body,
    check_case_study,
    load_shares,
    main,
    render_case_study,
    stale_blocks,
    update_case_study,
)
from benchmarks.results import RESULTS_DIR, Json, load_results
from capacity import (
    CapacityPlan,
    billed_gb,
    measured_flavours,
    plan_all,
    task_sizes,
    usd_per_hour,
    vcpus_needed,
)

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = DATA / "scoring-results.json"
FIXTURE_SHARES = DATA / "scoring.shares.json"
REFERENCE = RESULTS_DIR / "latest.json"
# The parts that show measurements, and so say "not measured yet" without the scoring section.
MEASURED_PARTS = ("profile", "throughput", "steps", "capacity", "claims")


def measured(rps: float, cores: float, p99: float, pss: float, interpreter: str) -> Json:
    """One entry of a scoring section, with only what capacity planning reads."""
    summary = {
        "requests_per_second": {"median": rps},
        "latency_ms": {"p99": p99},
        "server_cpu_cores": cores,
    }
    return {
        "display_name": f"{interpreter} at {rps:g}",
        "interpreter": interpreter,
        "status": "measured",
        "wrk": {"summary": summary},
        "memory": {"peak_pss_mib_per_worker": pss},
    }


def tiny_results() -> Json:
    """A hand-made scoring section: two flavours that can be planned, one that failed and one
    measured without the server's CPU time."""
    failed = {"display_name": "failed", "interpreter": "cpython", "status": "failed", "wrk": None}
    no_cpu = measured(900.0, 1.0, 5.0, 50.0, "cpython")
    no_cpu["wrk"]["summary"]["server_cpu_cores"] = None
    return {
        "scoring": {
            "variants": {
                "a": measured(1400.0, 1.0, 10.0, 50.0, "cpython"),
                "b": measured(2800.0, 0.5, 80.0, 300.0, "pypy"),
                "c": failed,
                "d": no_cpu,
            }
        }
    }


def plans_by_name() -> dict[str, CapacityPlan]:
    return {plan.flavour.name: plan for plan in plan_all(tiny_results())}


# The capacity arithmetic


def test_only_flavours_with_every_figure_are_planned():
    assert [flavour.name for flavour in measured_flavours(tiny_results())] == ["a", "b"]
    assert measured_flavours({"variants": {}}) == []


def test_a_cpython_flavour_needs_three_vcpus_in_two_tasks():
    plan = plans_by_name()["a"]
    assert plan.requests_per_cpu_second == 1400.0
    # 2,000 / (1,400 × 0.7) = 2.04 → 3 vCPUs, as a task of two workers and one of one
    assert (plan.vcpus, plan.task_vcpus) == (3, (2, 1))
    # (2 × 50 + 64) + (1 × 50 + 64) MiB; billed at Fargate's minimum, 4 GB + 2 GB
    assert (plan.memory_mib, plan.billed_gb) == (278.0, 6)
    assert plan.usd_per_hour == pytest.approx(3 * 0.04048 + 6 * 0.004445, abs=1e-15)
    assert plan.usd_per_million_requests == pytest.approx(0.14811 / 7.2, abs=1e-15)
    assert plan.meets_p99_target


def test_a_pypy_flavour_counts_requests_per_cpu_second_and_its_larger_allowance():
    plan = plans_by_name()["b"]
    assert plan.requests_per_cpu_second == 5600.0  # 2,800 requests/s on half a core
    assert (plan.vcpus, plan.task_vcpus) == (1, (1,))
    assert (plan.memory_mib, plan.billed_gb) == (556.0, 2)  # 300 + 256 MiB
    assert plan.usd_per_hour == pytest.approx(0.04048 + 2 * 0.004445, abs=1e-15)
    assert plan.usd_per_million_requests == pytest.approx(0.04937 / 7.2, abs=1e-15)
    # 80 ms measured at full load on one worker: not meeting 50 ms, whatever its vCPUs
    assert not plan.meets_p99_target


def test_the_vcpus_are_rounded_up_but_not_past_a_float_error():
    assert vcpus_needed(2000, 1400, 0.7) == 3
    assert vcpus_needed(2100, 1000, 0.7) == 3  # exactly 3
    assert vcpus_needed(357, 170, 0.7) == 3  # 3.0000000000000004 in floating point
    assert vcpus_needed(1, 10_000, 0.7) == 1  # never none


def test_tasks_hold_two_workers_and_the_rest():
    assert task_sizes(1) == (1,)
    assert task_sizes(4) == (2, 2)
    assert task_sizes(7) == (2, 2, 2, 1)


def test_billed_memory_is_whole_gb_and_at_least_the_minimum_per_vcpu():
    assert billed_gb(100.0, 1) == 2
    assert billed_gb(100.0, 2) == 4
    assert billed_gb(5000.0, 2) == 5  # 4.88 GB needed → 5
    assert usd_per_hour(2, 4) == pytest.approx(2 * 0.04048 + 4 * 0.004445, abs=1e-15)


def test_the_allowance_is_the_one_the_compose_checks_use():
    compose_checks = pytest.importorskip("compose_checks", reason="needs the Docker check tools")
    from capacity import SUPERVISOR_ALLOWANCE_MIB

    assert SUPERVISOR_ALLOWANCE_MIB == compose_checks.SUPERVISOR_ALLOWANCE_MIB


# The document and the committed reference


def test_the_case_study_is_generated_from_the_reference_results():
    text = CASE_STUDY_DOC.read_text()
    assert render_case_study(text, load_results(REFERENCE), load_shares()) == text, (
        "run `python -m benchmarks.case_study_doc update`"
    )


def test_while_the_reference_has_no_case_study_every_figure_says_not_measured_yet():
    if (load_results(REFERENCE).get("scoring") or {}).get("variants"):
        pytest.skip("the reference results have the case study: its figures are checked above")
    text = CASE_STUDY_DOC.read_text()
    for name in MEASURED_PARTS:
        body = block_body(text, name).lower()
        assert "not measured yet" in body or "make profile variant=scoring" in body, name
    assert "$ per million requests |" not in text  # no cost table without a measurement


def without_scoring(results: Json) -> Json:
    copied = copy.deepcopy(results)
    copied.pop("scoring", None)
    return copied


def test_without_the_section_every_measured_part_says_what_to_run():
    results = without_scoring(load_results(FIXTURE))
    rendered = render_case_study(CASE_STUDY_DOC.read_text(), results, load_shares(FIXTURE_SHARES))
    for name in MEASURED_PARTS:
        assert "not measured yet: run `make bench`" in block_body(rendered, name).lower(), name
    without_profile = render_case_study(rendered, results, None)
    assert "run `make profile VARIANT=scoring`" in block_body(without_profile, "profile")


# Rendering the fixture


@pytest.fixture
def rendered() -> str:
    results, shares = load_results(FIXTURE), load_shares(FIXTURE_SHARES)
    return render_case_study(CASE_STUDY_DOC.read_text(), results, shares)


def test_the_throughput_table_has_a_row_per_flavour(rendered: str):
    table = block_body(rendered, "throughput")
    assert (
        "| CPython, as written | python | pydantic | 5,413 (5,413–5,413) | 1.00× | 2.76 | 5.60 | "
        "183 | 45.4 | — | ⚠ one repeat, so no spread was measured |"
    ) in table
    assert (
        "| PyPy, request checked in plain Python | python | python | 7,121 (7,121–7,121) | 1.32×"
        in (table)
    )
    assert "the golden corpus gets its answers" in table


def test_the_steps_compare_each_with_the_one_it_changes(rendered: str):
    steps = block_body(rendered, "steps")
    assert (
        "- **Add Cython's pure-Python-mode types** (CPython + typed Cython): 6,035 requests/s ⚠, "
        "1.04× the step before it (CPython + Cython (unchanged)) and 1.11× the service as written; "
        "p99 5.02 ms; peak PSS 45.8 MiB per worker."
    ) in steps
    assert "(PyPy): 1,031 requests/s ⚠, 0.190× the service as written;" in steps
    assert "peak PSS 255 MiB per worker; warm after 2.02 s of load." in steps


def test_the_profile_is_set_against_the_compiled_flavours(rendered: str):
    profile = block_body(rendered, "profile")
    assert "| the engine (fraud_scoring) | 40.0% |" in profile
    assert "at most 1.67× as many requests per CPU-second" in profile
    # requests per CPU-second 1.0672× the service as written's, of 1.67× possible; and
    # 1 / 1.0672 = 0.6 + 0.4 / 1.19: the engine alone ran 1.19× as fast
    assert "| CPython + Cython (unchanged) | 1.07× | 10.1% | 1.19× |" in profile
    assert "PyPy" not in profile.split("the measurement of the compiled flavours")[1]


def test_the_capacity_table_marks_the_flavour_over_the_p99_target(rendered: str):
    capacity = block_body(rendered, "capacity")
    assert (
        "| CPython, as written | 5,464 | 1 | 1 | 109 | 2 | $0.0494 | $0.00686 | yes (5.60 ms) |"
    ) in capacity
    assert (
        "| PyPy | 1,028 | 3 | 2 + 1 | 1,276 | 6 | $0.148 | $0.0206 | no: 84.6 ms at full load on "
        "one worker; not extrapolated to lower loads |"
    ) in capacity
    assert "checked on 2026-11-28 via third-party summaries" in capacity


def test_the_article_claim_is_set_against_each_flavour(rendered: str):
    claims = block_body(rendered, "claims")
    assert "| CPython + typed Cython | 1.11× | 11.5% | short of it |" in claims
    assert 'No flavour was as fast as the article\'s "exactly 40%" faster.' in claims


def test_the_typed_diff_is_read_from_the_two_files(rendered: str):
    diff = block_body(rendered, "typed-diff")
    assert "-def to_usd(amount: float, currency: str) -> float:" in diff
    assert (
        "+@cython.ccall\n+def to_usd(amount: cython.double, currency: str) -> cython.double:"
        in (diff)
    )
    assert '+    now: cython.longlong = transaction["timestamp"]' in diff


def test_a_flavour_that_failed_is_listed_with_its_reason():
    results = load_results(FIXTURE)
    entry = results["scoring"]["variants"]["scoring-mypyc"]
    entry.update(status="failed", error="the golden corpus: 3 answers differ")
    rendered = render_case_study(CASE_STUDY_DOC.read_text(), results, None)
    assert "- CPython + mypyc (failed): the golden corpus: 3 answers differ" in block_body(
        rendered, "throughput"
    )
    assert "(CPython + mypyc): not measured: the golden corpus" in block_body(rendered, "steps")
    assert "CPython + mypyc" not in block_body(rendered, "capacity")


# Stale and broken documents


def test_a_stale_part_is_found_and_rewritten(tmp_path: Path):
    results = load_results(REFERENCE)
    copy_path = tmp_path / "case-study.md"
    text = CASE_STUDY_DOC.read_text()
    broken = text.replace(
        "<!-- case-study:claims:start -->\n", "<!-- case-study:claims:start -->\nold\n"
    )
    assert broken != text
    copy_path.write_text(broken)
    shares_path = PROFILE_SHARES  # the committed profile, as the page on disk was rendered with
    assert check_case_study(results, copy_path, shares_path) == ["claims"]
    assert update_case_study(results, copy_path, shares_path)
    assert check_case_study(results, copy_path, shares_path) == []
    assert not update_case_study(results, copy_path, shares_path)


def test_a_missing_or_unknown_marker_is_an_error():
    text = CASE_STUDY_DOC.read_text()
    results = load_results(FIXTURE)
    with pytest.raises(ValueError, match="case-study:steps:end"):
        render_case_study(text.replace("<!-- case-study:steps:end -->", ""), results, None)
    with pytest.raises(ValueError, match="unknown parts: stpes"):
        stale_blocks(text + "<!-- case-study:stpes:start -->\n", results, None)
    assert set(BLOCKS) == {"profile", "typed-diff", "throughput", "steps", "capacity", "claims"}


def test_the_command_checks_the_document_and_plans_other_targets(capsys):
    assert main(["check"]) == 0
    assert main(["capacity", str(FIXTURE), "--target-rps", "20000"]) == 0
    printed = capsys.readouterr().out
    assert "To serve 20,000 requests/s with p99 at most 50.0 ms" in printed
    # 20,000 / (5,464 × 0.7) = 5.2 → 6 vCPUs in three tasks of two
    assert "| CPython, as written | 5,464 | 6 | 2 + 2 + 2 |" in printed
