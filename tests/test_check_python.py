"""scripts/check-python.py: the interpreter `make setup` builds the CPython environment with is new
enough, or one clear message says which version is needed and how to give make another. The
minimum it states is checked against the package metadata of every pin that environment installs,
and the script is run under real older interpreters where this machine has them (pyenv's builds)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib.metadata import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from variants import ROOT

SCRIPT = ROOT / "scripts" / "check-python.py"
PYENV_VERSIONS = Path("/root/.pyenv/versions")
LOWER_BOUNDS = (">=", ">", "~=", "==")


def load_script():
    spec = importlib.util.spec_from_file_location("check_python", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_python = load_script()


def makefile_variables() -> dict[str, str]:
    """The Makefile's `NAME := value` lines, continuation lines joined."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    return dict(re.findall(r"^([A-Z_]+) := (.+)$", text, re.MULTILINE))


def cpython_requirement_files() -> list[Path]:
    """The files the Makefile installs into .venv/cpython (CPYTHON_REQUIREMENTS)."""
    variables = makefile_variables()
    names = re.sub(
        r"\$\((\w+)\)", lambda used: variables[used.group(1)], variables["CPYTHON_REQUIREMENTS"]
    )
    return [ROOT / name for name in names.split()]


def pins(path: Path) -> dict[str, str]:
    """name → pinned version, following `-r` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r"):
            found.update(pins(path.parent / line[2:].strip()))
        elif line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path}: {line} is not pinned"
            found[requirement.name] = specifier.version
    return found


def all_pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in cpython_requirement_files():
        found.update(pins(path))
    return found


def minimum_python(requires_python: str | None) -> tuple[int, int]:
    """The lowest Python (major, minor) a Requires-Python allows; (3, 0) when it says nothing."""
    bounds = [
        Version(specifier.version).release[:2]
        for specifier in SpecifierSet(requires_python or "")
        if specifier.operator in LOWER_BOUNDS
    ]
    return max(bounds, default=(3, 0))


def installed_requirement(name: str, pinned: str) -> tuple[int, int]:
    """The minimum Python of the installed distribution, which must be the pinned version."""
    installed = metadata(name)
    assert installed["Version"] == pinned, (
        f"{name} {installed['Version']} installed, {pinned} pinned"
    )
    return minimum_python(installed["Requires-Python"])


def test_the_requirement_files_are_read_from_the_makefile():
    names = [path.relative_to(ROOT).as_posix() for path in cpython_requirement_files()]
    assert "benchmarks/requirements.txt" in names
    assert all_pins()["fastapi"] == "0.165.0"  # through cython-optimized's -r of the baseline's


def test_the_minimum_is_the_highest_any_pin_declares():
    declared = {name: installed_requirement(name, v) for name, v in all_pins().items()}
    highest = max(declared.values())
    assert highest == check_python.MINIMUM, (
        f"the pins need Python {highest}: set MINIMUM in {SCRIPT} (and the README's quick start)"
    )


def test_the_pins_named_as_the_reason_need_exactly_the_minimum():
    pinned = all_pins()
    for name, version in check_python.NEEDED_BY:
        assert pinned[name] == version, f"{name} is pinned at {pinned[name]}, not {version}"
        assert installed_requirement(name, version) == check_python.MINIMUM


@pytest.mark.parametrize(
    ("version", "implementation", "refused"),
    [
        ((3, 11, 7), "CPython", False),
        ((3, 13, 0), "CPython", False),
        ((4, 0, 0), "CPython", False),
        ((3, 10, 13), "CPython", True),
        ((3, 6, 15), "CPython", True),
        ((3, 11, 7), "PyPy", True),
    ],
)
def test_refusal(version: tuple, implementation: str, refused: bool):
    assert bool(check_python.refusal(version, implementation)) is refused


def run_script(python: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, str(SCRIPT), "python3"], capture_output=True, text=True, timeout=60
    )


def test_this_interpreter_will_do_and_is_told_nothing():
    result = run_script(sys.executable)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def pyenv_interpreters(older: bool) -> list[Path]:
    """pyenv's CPython 3 builds on this machine, older than the minimum or not."""
    found = []
    for folder in sorted(PYENV_VERSIONS.glob("3.*")):
        version = tuple(int(part) for part in folder.name.split(".")[:2])
        if (version < check_python.MINIMUM) is older and (folder / "bin" / "python").exists():
            found.append(folder / "bin" / "python")
    return found


@pytest.mark.parametrize("python", pyenv_interpreters(older=True), ids=lambda path: path.parts[-3])
def test_an_older_interpreter_is_refused_with_what_to_do(python: Path):
    result = run_script(str(python))
    version = python.parts[-3]
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"make setup: python3 is CPython {version} ({python}); the CPython environment needs "
        "CPython 3.11 or newer (its pins fastapi 0.165.0, starlette 1.10.0, numpy 2.4.6, "
        "matplotlib 3.11.2, locust 2.47.0, schemathesis 4.32.5 require it).\n"
    )
    assert result.stderr.endswith("then run: PYTHON=python3.11 make setup\n")


@pytest.mark.parametrize("python", pyenv_interpreters(older=False), ids=lambda path: path.parts[-3])
def test_a_newer_interpreter_passes(python: Path):
    assert run_script(str(python)).returncode == 0


def test_pypy_is_refused_as_the_cpython_interpreter():
    pypy = ROOT / ".venv" / "pypy" / "bin" / "python"
    result = run_script(str(pypy))
    assert result.returncode == 1
    assert "the CPython environment needs CPython 3.11 or newer, not PyPy." in result.stderr
