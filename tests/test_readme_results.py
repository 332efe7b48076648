"""The README quotes measurements only: its results section is exactly what the committed
benchmarks/results/latest.json renders to (regenerate with `python -m benchmarks readme`)."""

from __future__ import annotations

from benchmarks.readme import END, README, START, render_results_section
from benchmarks.results import RESULTS_DIR, load_results


def readme_section() -> str:
    text = README.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].removeprefix("\n")


def test_readme_results_section_is_generated_from_latest_json():
    latest = RESULTS_DIR / "latest.json"
    expected = render_results_section(load_results(latest)) if latest.exists() else ""
    assert readme_section() == expected


def test_latest_table_is_rendered_from_latest_json():
    from benchmarks.report import render_table

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
