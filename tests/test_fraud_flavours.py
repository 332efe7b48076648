"""The compiled flavours of the case study's engine (case-study/build_engines.py): each gives the
golden answers and exactly the plain engine's answers, runs compiled code only and says so, and the
typed twin of features.py computes exactly what features.py computes when it runs uncompiled (under
CPython here, and under PyPy, where it must also know that it is not compiled).

The flavours are built first, by the build script in a subprocess: under a minute from scratch on
two cores (mypyc takes the longest), a fraction of a second when nothing changed. A failed build
fails the tests; they skip only where there is no C compiler or no Python headers. CPython only:
the flavours are CPython extension modules (the PyPy side runs in a subprocess)."""

from __future__ import annotations

import functools
import importlib
import json
import platform
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

import build_engines
import engine_flavours
import fraud_scoring
from fraud_scoring import features, features_typed, golden
from fraud_scoring.engine import score
from fraud_scoring.generator import generate_requests
from variants import INTERPRETERS

if platform.python_implementation() != "CPython":
    pytest.skip("the flavours are CPython extension modules", allow_module_level=True)

BUILD_SCRIPT = Path(build_engines.__file__)
BUILD_TIMEOUT_SECONDS = 600
FLAVOURS = engine_flavours.FLAVOURS
FLAVOUR_NAMES = [flavour.name for flavour in FLAVOURS]

# Run by PyPy: the typed twin, uncompiled, against features.py on the same requests.
PYPY_PROBE = """
import json, platform
from fraud_scoring import features, features_typed
from fraud_scoring.generator import generate_requests
requests = json.loads(json.dumps(generate_requests(7, 300)))
differing = sum(
    features.extract_features(r["transaction"], r["history"])
    != features_typed.extract_features(r["transaction"], r["history"])
    for r in requests
)
print(platform.python_implementation(), features_typed.CYTHON_COMPILED, differing)
"""


def run_build(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), *options],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
    )  # fmt: skip


@functools.cache
def build_once(name: str) -> subprocess.CompletedProcess:
    return run_build("--flavour", name)


def flavour_package(name: str) -> ModuleType:
    """The flavour's package, built first if it is missing or out of date. One flavour at a time,
    so that a flavour that does not build fails its own tests only."""
    result = build_once(name)
    assert result.returncode == 0, result.stderr + result.stdout
    importlib.invalidate_caches()  # the package may have appeared since this process started
    return importlib.import_module(engine_flavours.FLAVOURS_BY_NAME[name].package)


def as_the_service_gets_them(requests: list[dict]) -> list[dict]:
    """Requests as the service's JSON parser hands them over."""
    return json.loads(json.dumps(requests))


def installed_files(flavour: engine_flavours.Flavour) -> dict[str, int]:
    """The generated package's files, with their modification times."""
    return {
        path.name: path.stat().st_mtime_ns
        for path in flavour.installed_dir.iterdir()
        if path.name != "__pycache__"
    }


@pytest.fixture(scope="module")
def package_of() -> Callable[[str], ModuleType]:
    problem = build_engines.toolchain_problem()
    if problem:
        pytest.skip(f"the flavours cannot be compiled here: {problem}")
    return flavour_package


@pytest.fixture(scope="module")
def traffic() -> list[dict]:
    return as_the_service_gets_them(generate_requests(7, 10_000))


@pytest.fixture(scope="module")
def plain_answers(traffic: list[dict]) -> list[dict]:
    return [score(request["transaction"], request["history"]) for request in traffic]


# The answers


@pytest.mark.parametrize("name", FLAVOUR_NAMES)
def test_flavour_gives_the_golden_answers(package_of: Callable[[str], ModuleType], name: str):
    flavour_score = package_of(name).engine.score
    differences = []
    for case in golden.load_corpus()["cases"]:
        request = case["request"]
        answer = flavour_score(request["transaction"], request["history"])
        differences.extend(golden.answer_differences(case["name"], case["expected"], answer))
    assert differences == []


@pytest.mark.parametrize("name", FLAVOUR_NAMES)
def test_flavour_answers_exactly_as_the_plain_engine(
    package_of: Callable[[str], ModuleType],
    name: str,
    traffic: list[dict],
    plain_answers: list[dict],
):
    flavour_score = package_of(name).engine.score
    differing = [
        index
        for index, (request, expected) in enumerate(zip(traffic, plain_answers))
        if flavour_score(request["transaction"], request["history"]) != expected
    ]
    assert differing == [], f"{len(differing)} of {len(traffic)} answers differ"


def test_typed_twin_uncompiled_computes_the_same_features():
    assert features_typed.CYTHON_COMPILED is False
    assert features_typed.__file__.endswith("features_typed.py")
    for request in as_the_service_gets_them(generate_requests(7, 1000)):
        arguments = (request["transaction"], request["history"])
        assert features_typed.extract_features(*arguments) == features.extract_features(*arguments)


def test_typed_twin_runs_uncompiled_on_pypy_with_the_same_features():
    probe = subprocess.run(
        [str(INTERPRETERS["pypy"]), "-c", PYPY_PROBE], capture_output=True, text=True, timeout=300
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["PyPy", "False", "0"]


# Compiled code, and saying so


@pytest.mark.parametrize("name", FLAVOUR_NAMES)
def test_flavour_runs_compiled_modules_only(package_of: Callable[[str], ModuleType], name: str):
    package = package_of(name)
    assert name == package.FLAVOUR
    assert package.COMPILED is True
    assert package.features.__file__.endswith(tuple(EXTENSION_SUFFIXES))
    # No .py copy of a compiled module: an import would find it if the build went wrong.
    files = installed_files(engine_flavours.FLAVOURS_BY_NAME[name])
    assert [file for file in files if file.endswith(".py")] == ["__init__.py"]


def test_only_cython_compiled_the_typed_twin_as_cython(package_of: Callable[[str], ModuleType]):
    assert package_of("cython-typed").features.CYTHON_COMPILED is True
    # mypyc compiles the same file, but `cython` is then Cython's shadow module at run time.
    assert package_of("mypyc").features.CYTHON_COMPILED is False


def test_the_plain_package_says_it_is_not_compiled():
    assert (fraud_scoring.FLAVOUR, fraud_scoring.COMPILED) == ("python", False)
    assert features.__file__.endswith("features.py")


# The build script


def test_a_second_build_changes_nothing(package_of: Callable[[str], ModuleType]):
    for name in FLAVOUR_NAMES:
        package_of(name)
    before = {flavour.name: installed_files(flavour) for flavour in FLAVOURS}
    result = run_build()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{flavour.package}: up to date" for flavour in FLAVOURS]
    assert {flavour.name: installed_files(flavour) for flavour in FLAVOURS} == before
