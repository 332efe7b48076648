"""Start-up through serve.py (what `make run-NAME` runs): bad settings stop it with one clear line,
before any server process exists."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from settings import SettingsError, read_fib_max_n

from variants import ROOT, VARIANTS, get_variant, server_command, server_environment

SERVE = [sys.executable, str(ROOT / "serve.py")]


def run_serve(variant: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SERVE, variant],
        env={**os.environ, "PORT": "1", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
@pytest.mark.parametrize(
    ("value", "shown"),
    [("93", "93"), ("-1", "-1"), ("abc", "'abc'"), ("3.5", "'3.5'"), ("1e2", "'1e2'")],
)
def test_bad_fib_max_n_refuses_to_start_with_its_message(variant: str, value: str, shown: str):
    result = run_serve(variant, FIB_MAX_N=value)
    assert result.returncode == 2
    assert (
        result.stderr == f"serve.py: FIB_MAX_N must be a whole number from 0 to 92, got {shown}\n"
    )
    assert result.stdout == ""  # it never got as far as announcing a server


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number from 1 to 65535, got 'http'"),
        ({"PORT": "70000"}, "PORT must be a whole number from 1 to 65535, got 70000"),
        ({"WORKERS": "0"}, "WORKERS must be a whole number from 1 to 256, got 0"),
    ],
)
def test_bad_server_settings_refuse_to_start(env: dict, message: str):
    result = run_serve("baseline", **env)
    assert (result.returncode, result.stderr) == (2, f"serve.py: {message}\n")


def test_unknown_variant_lists_the_known_ones():
    result = run_serve("cpython-fast")
    assert result.returncode == 2
    assert result.stderr == (
        "serve.py: unknown variant 'cpython-fast'; the variants are: "
        "baseline, cython, pypy, pypy-cython\n"
    )


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
def test_uvicorn_started_directly_with_a_bad_cap_fails_with_the_same_message(variant: str):
    # Users may bypass serve.py; the app itself then refuses to load.
    command = server_command(get_variant(variant), "127.0.0.1", 1, 1)
    result = subprocess.run(
        command,
        env=server_environment({**os.environ, "FIB_MAX_N": "100"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FIB_MAX_N must be a whole number from 0 to 92, got 100" in result.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 35), ({"FIB_MAX_N": ""}, 35), ({"FIB_MAX_N": "0"}, 0), ({"FIB_MAX_N": " 92 "}, 92)],
)
def test_read_fib_max_n_accepts(environ: dict, expected: int):
    assert read_fib_max_n(environ) == expected


def test_read_fib_max_n_refuses_the_int64_overflow():
    with pytest.raises(
        SettingsError, match="FIB_MAX_N must be a whole number from 0 to 92, got 93"
    ):
        read_fib_max_n({"FIB_MAX_N": "93"})
