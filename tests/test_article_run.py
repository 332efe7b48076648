"""make bench-article (benchmarks/article.py) and the README parts it generates
(benchmarks/article_readme.py): where a run writes, that a failing part is recorded while the
others still run, and that the README's article figures are what the committed results render to.
The parts themselves are tested in test_article_headline.py, test_jit_tips.py, test_micro.py and
test_fib_pure.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import article
from benchmarks.article_readme import (
    ARTICLE_RESULTS,
    BLOCKS,
    README,
    builds_block,
    load_article_results,
    markers,
    micro_sentences,
    render_article_blocks,
)
from benchmarks.reference import SCRATCH_DIR


def test_only_a_complete_default_run_writes_the_reference():
    assert article.output_folder(article.ArticleOptions()) == article.ARTICLE_DIR
    quick = article.output_folder(article.ArticleOptions(quick=True))
    partial = article.output_folder(article.ArticleOptions(parts=["jit"]))
    assert quick.parent == partial.parent == SCRATCH_DIR
    assert quick.name.startswith("article-")


def test_a_failing_part_is_recorded_and_the_next_one_still_runs(tmp_path, monkeypatch):
    def broken(run, section):
        raise RuntimeError("wrk is missing")

    def fine(run, section):
        section["value"] = 42

    monkeypatch.setattr(article, "PART_RUNNERS", {"headline": broken, "jit": fine})
    options = article.ArticleOptions(parts=["headline", "jit"], output_dir=tmp_path)
    said: list[str] = []
    path = article.ArticleRun(options, said.append).execute()
    saved = json.loads(path.read_text())
    assert saved["parts"]["headline"]["status"] == "failed"
    assert saved["parts"]["headline"]["error"] == "headline: wrk is missing"
    assert saved["parts"]["jit"] == {"status": "measured", "error": None, "value": 42}
    assert any("article headline failed" in line for line in said)


def test_an_unknown_part_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as stop:
        article.main(["--parts", "headline,warp"])
    assert stop.value.code == 2
    assert "unknown part(s) warp; choose from headline, jit, micro, builds, versions" in (
        capsys.readouterr().err
    )


def test_the_readmes_article_figures_are_generated_from_the_committed_results():
    results = load_article_results()
    assert results is not None, "make bench-article has not committed its results"
    assert results["parts"].keys() == set(article.PARTS)
    text = README.read_text()
    for name in BLOCKS:
        assert all(marker in text for marker in markers(name)), name
    assert render_article_blocks(text, results, ARTICLE_RESULTS.parent) == text


def test_a_stale_article_figure_is_found():
    results = load_article_results()
    assert results is not None
    start, _ = markers("article-builds")
    text = README.read_text().replace(start, start + "\n| a typed figure |", 1)
    assert render_article_blocks(text, results, ARTICLE_RESULTS.parent) != text


def test_the_builds_table_and_the_micro_sentences_quote_their_part():
    builds = {
        "status": "measured",
        "interpreters": {
            "cpython": {
                "cython_seconds": 0.5,
                "compile_seconds": 2.0,
                "total_seconds": 2.5,
                "modules": ["fib_cython.cpython-311-x86_64-linux-gnu.so", "fib_pure.so"],
            }
        },
    }
    table = builds_block({"parts": {"builds": builds}})
    assert "| cpython | 0.500 | 2.00 | 2.50 | fib_cython, fib_pure |" in table
    assert builds_block({"parts": {}}) == (
        "Not measured: the committed run did not include this part.\n"
    )
    micro = {
        "results": [
            {"interpreter": "cpython", "implementation": "python-recursive", "mean_seconds": 8.0},
            {"interpreter": "cpython", "implementation": "python-iterative", "mean_seconds": 0.001},
        ]
    }
    assert micro_sentences(micro) == [
        "- On CPython, the iterative algorithm, no compiler: 8,000× the speed of the recursive "
        "Python function."
    ]


def test_the_article_results_file_is_plain_json():
    assert isinstance(json.loads(Path(ARTICLE_RESULTS).read_text()), dict)
