"""The variants table, the Makefile and the README agree."""

from __future__ import annotations

import re
import subprocess

from variants import ALL_VARIANTS, ROOT, SCORING_VARIANTS, VARIANTS, variant_names

MAKEFILE = (ROOT / "Makefile").read_text()


def test_names_and_ports_are_unique_and_as_documented():
    assert variant_names() == ["baseline", "cython", "pypy", "pypy-cython"]
    assert [v.default_port for v in VARIANTS] == [8000, 8001, 8002, 8003]
    assert [v.default_port for v in SCORING_VARIANTS] == list(range(8010, 8016))
    assert len({v.name for v in ALL_VARIANTS}) == len({v.default_port for v in ALL_VARIANTS}) == 10
    assert {v.workload for v in VARIANTS} == {"fib"}
    assert {v.workload for v in SCORING_VARIANTS} == {"scoring"}
    assert all(v.interpreter_path.exists() for v in ALL_VARIANTS)  # `make setup` made them


def test_every_variant_has_a_make_run_target_that_serves_it():
    for variant in ALL_VARIANTS:
        rule = re.search(rf"^run-{variant.name}: setup ## .*\n\t(.*)$", MAKEFILE, re.MULTILINE)
        assert rule, f"no run-{variant.name} target"
        assert rule.group(1) == f"@$(CPYTHON) serve.py {variant.name}"


def make_help() -> str:
    """What `make help` prints: a line per documented target."""
    return subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def make_help_targets() -> list[str]:
    return re.findall(r"^  make (\S+)", make_help(), re.MULTILINE)


def test_make_help_lists_every_target_with_a_line():
    listed = make_help()
    targets = make_help_targets()
    names = [v.name for v in ALL_VARIANTS]
    for target in ["setup", "test", "lint", "clean", "build-scoring", *[f"run-{n}" for n in names]]:
        assert target in targets
    assert all(re.search(rf"^  make {t}\s+\S", listed, re.MULTILINE) for t in targets)


def test_readme_quick_start_shows_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    for variant in VARIANTS:
        assert f"make run-{variant.name}" in readme
