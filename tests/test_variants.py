"""The variants table, the Makefile and the README agree."""

from __future__ import annotations

import re
import subprocess

from variants import ROOT, VARIANTS, variant_names

MAKEFILE = (ROOT / "Makefile").read_text()


def test_names_and_ports_are_unique_and_as_documented():
    assert variant_names() == ["baseline", "cython", "pypy", "pypy-cython"]
    assert [v.default_port for v in VARIANTS] == [8000, 8001, 8002, 8003]
    assert all(v.interpreter_path.exists() for v in VARIANTS)  # `make setup` made them


def test_every_variant_has_a_make_run_target_that_serves_it():
    for variant in VARIANTS:
        rule = re.search(rf"^run-{variant.name}: setup ## .*\n\t(.*)$", MAKEFILE, re.MULTILINE)
        assert rule, f"no run-{variant.name} target"
        assert rule.group(1) == f"@$(CPYTHON) serve.py {variant.name}"


def test_make_help_lists_every_target_with_a_line():
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    targets = re.findall(r"^  make (\S+)", listed, re.MULTILINE)
    for target in ["setup", "test", "lint", "clean", *[f"run-{n}" for n in variant_names()]]:
        assert target in targets
    assert all(re.search(rf"^  make {t}\s+\S", listed, re.MULTILINE) for t in targets)


def test_readme_quick_start_shows_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    for variant in VARIANTS:
        assert f"make run-{variant.name}" in readme
