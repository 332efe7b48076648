"""Serve one variant in the foreground: `python serve.py NAME` (what `make run-NAME` runs).

Reads HOST (default 127.0.0.1), PORT (the variant's default), WORKERS (default: the cores this
process may use) and the app's own settings (the Fibonacci apps': FIB_MAX_N, default 35,
FIB_BUDGET_SECONDS, default 10, FIB_INLINE_SECONDS, default 0.001; the scoring service's:
SCORING_ENGINE and SCORING_VALIDATION, set by its variant), checks them all before anything
starts, then replaces itself with uvicorn under the variant's interpreter, so stopping this process
stops the server.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

from baseline.fib_settings import (
    SettingsError,
    available_cores,
    parse_int_setting,
    read_budget_seconds,
    read_fib_max_n,
    read_host,
    read_inline_seconds,
)
from variants import Variant, get_variant, server_command, server_environment


def build_command(variant: Variant, environ: Mapping[str, str]) -> list[str]:
    """The checked uvicorn command for `variant` under the settings in `environ`."""
    check_app_settings(variant, environ)  # fail here, once, rather than in every worker
    host = read_host(environ)
    port = parse_int_setting("PORT", environ.get("PORT") or str(variant.default_port), 1, 65535)
    workers = parse_int_setting("WORKERS", environ.get("WORKERS") or str(available_cores()), 1, 256)
    return server_command(variant, host, port, workers)


def check_app_settings(variant: Variant, environ: Mapping[str, str]) -> None:
    if variant.workload == "scoring":
        # Imported here: the Docker images serve the Fibonacci variants and hold no case-study/.
        from scoring_settings import read_scoring_settings

        read_scoring_settings(server_environment(dict(environ), variant))
        return
    read_fib_max_n(environ)
    read_budget_seconds(environ)
    read_inline_seconds(environ)


def main(argv: list[str]) -> int:
    # `--python PATH` runs the server under PATH instead of the variant's virtual environment
    # (a container has one interpreter and no .venv).
    if len(argv) == 4 and argv[2] == "--python":
        argv, interpreter = argv[:2], argv[3]
    else:
        interpreter = None
    if len(argv) != 2:
        print("usage: python serve.py VARIANT [--python PATH]", file=sys.stderr)
        return 2
    try:
        variant = get_variant(argv[1])
        command = build_command(variant, os.environ)
    except (KeyError, SettingsError) as error:
        print(f"serve.py: {error.args[0]}", file=sys.stderr)
        return 2
    if interpreter is not None:
        command[0] = shutil.which(interpreter) or interpreter
    if not os.path.exists(command[0]):
        print(f"serve.py: {command[0]} is missing; run `make setup`", file=sys.stderr)
        return 2
    print(f"serve.py: {variant.name} ({variant.display_name}): {' '.join(command[1:])}", flush=True)
    os.execve(command[0], command, server_environment(dict(os.environ), variant))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
