"""The README's reference tables list what is there: every test file in the tests table, every
target `make help` lists in the make-targets table, every module in the layout section."""

from __future__ import annotations

import re

from tests.test_variants import make_help_targets
from variants import ROOT

README = (ROOT / "README.md").read_text()
MODULE_FOLDERS = ("baseline", "cython-optimized", "pypy-deployment", "case-study", "benchmarks")


def section(heading: str) -> str:
    """The README's text under `## heading`, up to the next `## ` heading."""
    return README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_tests_table_lists_every_test_file():
    listed = set(re.findall(r"`(tests/test_\w+\.py)`", section("Tests")))
    present = {f"tests/{path.name}" for path in (ROOT / "tests").glob("test_*.py")}
    assert sorted(present - listed) == []
    assert sorted(listed - present) == []


def test_the_make_targets_table_lists_every_target_make_help_lists():
    table = section("Make targets")
    missing = [t for t in make_help_targets() if not re.search(rf"`make {re.escape(t)}\b", table)]
    assert missing == []


def test_the_layout_names_every_module():
    layout = section("Layout and tools")
    modules = {path.name for path in ROOT.glob("*.py")}
    for folder in MODULE_FOLDERS:
        modules |= {path.name for path in (ROOT / folder).glob("*.py")}
        modules |= {path.name for path in (ROOT / folder).glob("*.pyx")}
    modules -= {"__init__.py", "__main__.py"} if "`__main__.py`" not in layout else {"__init__.py"}
    assert sorted(m for m in modules if m not in layout) == []
