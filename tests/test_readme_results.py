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
