"""The README quotes measurements only: its results section is exactly what the committed
benchmarks/results/latest.json renders to (regenerate with `python -m benchmarks readme`). The
ladder and whole-machine parts, which latest.json may lack, are checked on the golden file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmarks.readme import END, README, START, render_results_section
from benchmarks.results import RESULTS_DIR, Json, load_results


def readme_section() -> str:
    text = README.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].removeprefix("\n")


def test_readme_results_section_is_generated_from_latest_json():
    latest = RESULTS_DIR / "latest.json"
    expected = render_results_section(load_results(latest)) if latest.exists() else ""
    assert readme_section() == expected


def test_the_design_sections_figures_are_generated_from_latest_json():
    from benchmarks.readme import SERVING_END, SERVING_START, serving_figures

    text = README.read_text()
    block = text.split(SERVING_START, 1)[1].split(SERVING_END, 1)[0].removeprefix("\n")
    assert block == serving_figures(load_results(RESULTS_DIR / "latest.json"))


def test_the_summary_at_the_top_is_generated_from_latest_json():
    from benchmarks.summary import END as GLANCE_END
    from benchmarks.summary import START as GLANCE_START
    from benchmarks.summary import at_a_glance

    text = README.read_text()
    block = text.split(GLANCE_START, 1)[1].split(GLANCE_END, 1)[0].removeprefix("\n")
    assert block == at_a_glance(load_results(RESULTS_DIR / "latest.json"))


def test_the_summary_quotes_the_speed_ups_of_the_throughput_table(golden: Json) -> None:
    from benchmarks.formatting import MISSING, format_ratio, records_of, speed_up
    from benchmarks.summary import at_a_glance, glance_rows

    wrk = [r for r in records_of(golden, "wrk") if r["connections"] == 16]
    expected = {(r["variant"], r["n"]): format_ratio(speed_up(golden, r)) for r in wrk}
    framework, compute = glance_rows(golden)[:2]
    ns = sorted({n for _, n in expected})
    columns = ("cython", "pypy", "pypy-cython")  # the golden file measured pypy only
    assert framework[1:] == [expected.get((v, ns[0]), MISSING) for v in columns]
    assert compute[1:] == [expected.get((v, ns[-1]), MISSING) for v in columns]
    assert framework[2] != MISSING and compute[2] != MISSING
    without_fib = {**golden, "records": []}
    assert at_a_glance(without_fib) == ""


def test_the_design_figures_state_the_hand_off_cost_from_the_ladder():
    from benchmarks.readme import serving_figures

    golden = load_results(Path(__file__).parent / "data" / "results-golden.json")
    figures = serving_figures(golden)
    assert figures.count("handing every computation to a worker thread costs") == 2
    assert "httptools against h11" in figures
    without = copy.deepcopy(golden)
    del without["ladder"]
    assert serving_figures(without) == ""


def test_latest_table_is_rendered_from_latest_json():
    from benchmarks.table import render_table

    latest = RESULTS_DIR / "latest.json"
    if latest.exists():
        assert (RESULTS_DIR / "latest.md").read_text() == render_table(load_results(latest))
    else:
        assert not (RESULTS_DIR / "latest.md").exists()


def test_readme_code_excerpts_are_copied_from_the_files_they_quote():
    from benchmarks.excerpts import MARKER, refresh_excerpts

    text = README.read_text()
    quoted = [(match["path"], match["name"]) for match in MARKER.finditer(text)]
    assert ("baseline/baseline_app.py", "fib_recursive") in quoted
    assert ("cython-optimized/cython_app.py", None) in quoted
    assert refresh_excerpts(text) == text, "run `python -m benchmarks readme`"


def test_an_excerpt_that_drifted_from_its_file_is_found():
    from benchmarks.excerpts import refresh_excerpts

    text = README.read_text()
    drifted = text.replace("return fib_recursive(n - 1) + fib_recursive(n - 2)", "return 0", 1)
    assert drifted != text
    assert refresh_excerpts(drifted) == text


# The ladder and whole-machine parts, from the synthetic golden file (tests/data, made-up numbers).

GOLDEN_RESULTS = Path(__file__).resolve().parent / "data" / "results-golden.json"


@pytest.fixture
def golden() -> Json:
    return load_results(GOLDEN_RESULTS)


def test_the_ladder_table_has_a_column_per_stack(golden: Json) -> None:
    section = render_results_section(golden)
    assert (
        "| Rung | CPython 3.11.7 · uvloop + httptools | PyPy 7.3.11 (Python 3.9.16) · asyncio + "
        "httptools | PyPy 7.3.11 (Python 3.9.16) · asyncio + h11 |"
    ) in section
    assert "| bare ASGI app | 10,000 (250%) | 12,000 (240%) ⚠ | 8,000 (200%) |" in section
    assert "| PyPy, pure Python | — | 4,500 (90.0%) | 3,000 (75.0%) |" in section
    assert "[`plots/ladder.png`](benchmarks/results/plots/ladder.png)" in section


def test_the_ladder_sentences_are_generated(golden: Json) -> None:
    section = render_results_section(golden)
    # The hand-off on each interpreter's own stack only; h11 is compared, not repeated.
    assert section.count("handing every computation to a worker thread costs") == 2
    assert "costs 47.4% of n=0 throughput (CPython, pure Python: 3,800 → 2,000" in section
    assert "httptools against h11: PyPy, pure Python at n=0 serves 1.50× the requests/s" in section
    assert (
        "- At n=0 each variant serves this share of FastAPI's floor on its own stack: CPython, "
        "pure Python: 95.0%; PyPy, pure Python: 90.0%."
    ) in section


def with_cython_runs(golden: Json) -> Json:
    """The golden file with the Cython variant's whole-machine runs measured."""
    results = copy.deepcopy(golden)
    runs = results["cores"]["runs"]
    for run, (rps, cores) in zip(runs[2:4], ((900.0, 1.96), (920.0, 1.98))):
        run.update(status="measured", error=None, summary=copy.deepcopy(runs[0]["summary"]))
        run["summary"]["requests_per_second"].update(median=rps, min=rps, max=rps)
        run["summary"]["server_cpu_cores"] = cores
    return results


def test_the_whole_machine_says_what_releasing_the_gil_buys(golden: Json) -> None:
    section = render_results_section(with_cython_runs(golden))
    assert "| CPython + Cython | 1 | 900 | 1.96 | 1.00× |" in section
    assert "| CPython + Cython | 2 | 920 | 1.98 | 1.02× |" in section
    assert (
        "What releasing the GIL buys one process: one CPython + Cython worker served 900 "
        "requests/s on 1.96 server CPU cores at n=30, 72.0× one CPython, pure Python worker "
        "(12.5 requests/s on 1.00 server CPU cores); two CPython + Cython workers served 920 "
        "requests/s on 1.98 server CPU cores, so one worker gets 0.978× of that."
    ) in section


def test_failed_whole_machine_runs_are_listed_without_the_gil_sentence(golden: Json) -> None:
    section = render_results_section(golden)
    assert "| PyPy, pure Python | 2 | 250 | 1.90 | 1.92× |" in section
    assert "- CPython + Cython, 1 worker: not measured: cython x1: the server never" in section
    assert "What releasing the GIL buys" not in section


def test_without_ladder_and_cores_the_section_has_neither(golden: Json) -> None:
    with_them = render_results_section(golden)
    del golden["ladder"], golden["cores"]
    section = render_results_section(golden)
    assert "Framework ceiling" not in section
    assert "Whole machine" not in section
    # Only those two parts go: the rest is the same text.
    start, end = with_them.index("**Framework ceiling**"), with_them.index("**Micro-benchmark")
    assert with_them[:start] + with_them[end:] == section
