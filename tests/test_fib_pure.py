"""The article's pure-Python-mode example taken apart: cython-optimized/fib_pure.py is the .pyx's
recursion in Cython's pure Python mode (compiled, it is the .pyx's machine code; uncompiled, plain
Python), and baseline/fib_iterative.py is the other algorithm. All give the same numbers and refuse
the same inputs the same way; the build timing really builds. Runs under CPython and PyPy (each
with its own build of fib_pure and fib_cython).

The recursion cannot run to n = 92 (about 10**19 calls), so the Python ones are checked there with
their recursive calls memoised (each module looks its function up by name at every call), and the
compiled one through its instructions, which are the .pyx's.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Callable

import Cython
import fib_cython
import pytest

import build_timing
import fib_pure
from baseline import baseline_app
from baseline.fib_iterative import fib_iterative
from baseline.fib_settings import DEFAULT_FIB_MAX_N, FIB_MAX_N_LIMIT
from cython_build_flags import COMPILE_FLAGS
from tests.contract import fib_reference
from tests.test_fib_cython import GIL_N, MIN_RUNS_INSIDE, runs_during_computation
from tests.test_micro import disassembly

FIB_92 = 7540113804746346429  # the largest Fibonacci number below 2**63
UNCOMPILED_MAX_N = 25  # the plain recursion's own calls, unmemoised: well under a second
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")
BUILD_TIMING = Path(build_timing.__file__)


@pytest.fixture(scope="module")
def uncompiled() -> ModuleType:
    return fib_pure.load_uncompiled()


def memoised_recursion(module: ModuleType, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `module`'s recursive function `name` remember its results: its own body still runs
    once per n, and its recursive calls, looked up by name, find the remembered ones."""
    monkeypatch.setattr(module, name, functools.lru_cache(maxsize=None)(getattr(module, name)))


def test_the_compiled_module_shadows_the_source_and_each_says_which_it_is(uncompiled: ModuleType):
    # The build beside fib_pure.py wins the plain import; load_uncompiled() gets the source.
    assert importlib.util.find_spec("fib_pure").origin.endswith(EXT_SUFFIX)
    assert fib_pure.__file__.endswith(EXT_SUFFIX)
    assert fib_pure.COMPILED is True
    assert uncompiled.COMPILED is False
    assert uncompiled.__name__ == fib_pure.UNCOMPILED_NAME
    assert Path(uncompiled.__file__) == fib_pure.SOURCE == BUILD_TIMING.with_name("fib_pure.py")
    assert fib_pure.load_uncompiled() is uncompiled  # loaded once per process


def test_both_builds_have_the_pyx_bound(uncompiled: ModuleType):
    for module in (fib_pure, uncompiled, fib_cython):
        assert (module.RESULT_BITS, module.MAX_N) == (64, FIB_MAX_N_LIMIT), module.__name__


def test_compiled_pure_mode_equals_the_pyx_and_python_for_every_allowed_n():
    for n in range(DEFAULT_FIB_MAX_N + 1):
        expected = fib_reference(n)
        assert fib_pure.fib_recursive(n) == fib_cython.fib_recursive(n) == expected, n


def test_uncompiled_pure_mode_equals_the_plain_recursion(uncompiled: ModuleType):
    for n in range(UNCOMPILED_MAX_N + 1):
        assert uncompiled.fib_recursive(n) == baseline_app.fib_recursive(n) == fib_reference(n)


def test_the_python_recursions_and_the_iteration_agree_up_to_92(
    uncompiled: ModuleType, monkeypatch: pytest.MonkeyPatch
):
    memoised_recursion(uncompiled, "_fib", monkeypatch)
    memoised_recursion(baseline_app, "fib_recursive", monkeypatch)
    for n in range(FIB_MAX_N_LIMIT + 1):
        expected = fib_reference(n)
        assert uncompiled.fib_recursive(n) == expected, n
        assert baseline_app.fib_recursive(n) == expected, n
        assert fib_iterative(n) == expected, n
    assert fib_iterative(FIB_MAX_N_LIMIT) == FIB_92


def test_the_iteration_equals_the_unmemoised_recursion():
    for n in range(UNCOMPILED_MAX_N + 1):
        assert fib_iterative(n) == baseline_app.fib_recursive(n), n


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_compiled_pure_mode_is_the_pyx_instruction_for_instruction():
    # So it computes what the .pyx computes for every n up to 92, where neither can be run.
    pure = disassembly(fib_pure.__file__, "__pyx_f_8fib_pure__fib")
    pyx = disassembly(fib_cython.__file__, "__pyx_f_10fib_cython__fib")
    assert len(pure) > 10
    assert pure == pyx


def guarded_functions(uncompiled: ModuleType) -> dict[str, Callable[[object], int]]:
    return {
        "pyx": fib_cython.fib_recursive,
        "pure compiled": fib_pure.fib_recursive,
        "pure uncompiled": uncompiled.fib_recursive,
        "iterative": fib_iterative,
    }


def refusal(fib: Callable[[object], int], value: object) -> tuple[type, str]:
    with pytest.raises((ValueError, TypeError)) as caught:
        fib(value)
    return caught.type, str(caught.value)


@pytest.mark.parametrize("value", [-1, 93, -(10**30), 10**30, "5", 5.0, None])
def test_each_refuses_what_the_pyx_refuses_with_its_message(uncompiled: ModuleType, value):
    functions = guarded_functions(uncompiled)
    expected = refusal(fib_cython.fib_recursive, value)
    assert expected[0] is (TypeError if not isinstance(value, int) else ValueError)
    for name, fib in functions.items():
        assert refusal(fib, value) == expected, name


def test_a_bool_counts_as_its_int_and_the_answer_is_an_int(uncompiled: ModuleType):
    for name, fib in guarded_functions(uncompiled).items():
        answers = [fib(True), fib(False)]
        assert answers == [1, 0], name
        assert [type(answer) for answer in answers] == [int, int], name


def test_compiled_pure_mode_lets_other_threads_run():
    overlap = runs_during_computation(fib_pure.fib_recursive)
    assert overlap.result == fib_reference(GIL_N)
    assert overlap.runs_inside >= MIN_RUNS_INSIDE, overlap


def test_the_build_timing_cli_builds_both_extensions_from_scratch(tmp_path: Path):
    out = tmp_path / "timing" / "build.json"
    command = [sys.executable, str(BUILD_TIMING), "--interpreter", sys.executable, "--out", out]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr

    timing = json.loads(out.read_text())
    assert timing["interpreter"] == sys.executable
    assert timing["implementation"] == sys.implementation.name
    assert timing["cython_version"] == Cython.__version__
    assert timing["compiler"].startswith(("gcc", "cc"))
    assert timing["compile_flags"] == COMPILE_FLAGS
    assert timing["modules"] == [f"fib_cython{EXT_SUFFIX}", f"fib_pure{EXT_SUFFIX}"]
    for step in ("cython_seconds", "compile_seconds"):
        assert timing[step] > 0, step
    assert timing["total_seconds"] == pytest.approx(
        timing["cython_seconds"] + timing["compile_seconds"]
    )
    assert timing["wall_seconds"] > timing["total_seconds"]


def test_build_timing_refuses_a_folder_that_is_not_empty(tmp_path: Path):
    (tmp_path / "fib_cython.c").write_text("/* left over from an earlier build */\n")
    with pytest.raises(build_timing.BuildTimingError, match="not empty"):
        build_timing.time_build(Path(sys.executable), work_dir=tmp_path)


def test_build_timing_reports_a_failed_build(tmp_path: Path):
    broken = tmp_path / "source" / "fib_broken.pyx"
    broken.parent.mkdir()
    broken.write_text("def fib(n):\n    return n +\n")
    with pytest.raises(build_timing.BuildTimingError, match=r"exit status 1: .*fib_broken\.pyx"):
        build_timing.time_build(Path(sys.executable), [broken], tmp_path / "build")
