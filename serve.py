"""Serve one variant in the foreground: `python serve.py NAME` (what `make run-NAME` runs).

Reads HOST (default 127.0.0.1), PORT (the variant's default), WORKERS (default: the cores this
process may use), LOOP (uvicorn's event loop: asyncio, or uvloop on CPython; README
"Reliability" says why the variants use asyncio) and the app's own settings (the Fibonacci
apps': FIB_MAX_N, default 35, FIB_BUDGET_SECONDS, default 10, FIB_INLINE_SECONDS, default
0.001; the scoring service's: SCORING_ENGINE and SCORING_VALIDATION, set by its variant; both's:
TURN_BUDGET_SECONDS, default 0.05), checks
them all before anything starts, then replaces itself with uvicorn under the variant's interpreter
(the same process, so stopping this process stops the server).

uvicorn runs in that process behind a handler that makes a stop by SIGINT or SIGTERM exit with
status 0. Without it, a single uvicorn process (WORKERS=1) dies by the SIGTERM it has just handled:
after its graceful shutdown it raises the signal again with the handler it found (the default, which
kills), see capture_signals in uvicorn/server.py
(https://github.com/encode/uvicorn/blob/master/uvicorn/server.py). GNU make reports a recipe that
died by a signal, or exited non-zero, as a failure ("make: *** [Makefile:NN: run-pypy]
Terminated"), and make passes its own SIGTERM (an IDE's stop button, `script`, `timeout`) on to the
recipe. A Ctrl-C while the app is still importing ends with status 0 too, instead of a traceback
(in uvicorn's workers as well).

With WORKERS > 1, the listening socket that uvicorn's supervisor binds is given back its TCP
protocol number (keep_tcp_nodelay): without it, asyncio leaves Nagle's algorithm on for every
connection, which costs each keep-alive answer about 40 ms (the PyPy variants run on asyncio).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
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
    read_turn_budget_seconds,
)
from variants import INTERPRETERS, Variant, get_variant, server_command, server_environment


def build_command(variant: Variant, environ: Mapping[str, str]) -> list[str]:
    """The checked uvicorn command for `variant` under the settings in `environ`."""
    check_app_settings(variant, environ)  # fail here, once, rather than in every worker
    host = read_host(environ)
    port = parse_int_setting("PORT", environ.get("PORT") or str(variant.default_port), 1, 65535)
    workers = parse_int_setting("WORKERS", environ.get("WORKERS") or str(available_cores()), 1, 256)
    loop = read_loop(variant, environ)
    return server_command(dataclasses.replace(variant, loop=loop), host, port, workers)


def read_loop(variant: Variant, environ: Mapping[str, str]) -> str:
    """LOOP: uvicorn's event loop, the variant's own unless set (uvloop has no PyPy build)."""
    loop = environ.get("LOOP", "").strip() or variant.loop
    allowed = ("asyncio",) if variant.interpreter == "pypy" else ("asyncio", "uvloop")
    if loop not in allowed:
        raise SettingsError(
            f"LOOP must be {' or '.join(allowed)} for {variant.name}, got {loop[:40]!r}"
        )
    return loop


def check_app_settings(variant: Variant, environ: Mapping[str, str]) -> None:
    read_turn_budget_seconds(environ)  # both services'
    if variant.workload == "scoring":
        # Imported here: the Docker images serve the Fibonacci variants and hold no case-study/.
        from scoring_settings import read_scoring_settings

        read_scoring_settings(server_environment(dict(environ), variant))
        return
    read_fib_max_n(environ)
    read_budget_seconds(environ)
    read_inline_seconds(environ)


# serve.py runs itself under the variant's interpreter in this mode: uvicorn's command line follows.
UVICORN_MODE = "--uvicorn"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_quietly(signum: int, frame: object) -> None:
    """A stop asked for by a signal is a clean exit: status 0, no traceback.

    Called while uvicorn's event loop runs, this is uvicorn raising again the signal it has
    handled, its shutdown already done: returning lets it finish and exit 0. Before the loop
    runs (the app still importing), nothing is to be shut down: exit at once.
    """
    if asyncio_loop_running():
        return
    raise SystemExit(0)


def asyncio_loop_running() -> bool:
    # sys.modules, not an import: a process that never started a loop need not load asyncio.
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


def quiet_stops() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop_quietly)


def in_process_command(command: list[str]) -> list[str]:
    """`python -m uvicorn ARGS` (variants.server_command) as `python serve.py --uvicorn ARGS`."""
    interpreter, module_flag, module, *arguments = command
    if (module_flag, module) != ("-m", "uvicorn"):
        raise ValueError(f"not a uvicorn command: {command}")
    return [interpreter, os.path.abspath(__file__), UVICORN_MODE, *arguments]


def keep_tcp_nodelay() -> None:
    """Make the socket uvicorn's supervisor binds (Config.bind_socket, WORKERS > 1) say it is TCP.

    uvicorn creates it with `socket.socket(family=...)`, whose protocol number is 0; accepted
    sockets inherit that number, and asyncio turns TCP_NODELAY on only for a socket whose number
    is IPPROTO_TCP (asyncio/base_events.py, _set_nodelay). So Nagle's algorithm stayed on and each
    keep-alive answer waited for the client's delayed ACK, about 40 ms: uvicorn issue #3149
    (https://github.com/Kludex/uvicorn/issues/3149), open, fixed this same way by the proposed
    PR #3154. uvloop sets TCP_NODELAY itself; a single worker lets asyncio bind from getaddrinfo,
    which gives the right number. The same file descriptor, wrapped with the number it really has.
    """
    import socket

    from uvicorn.config import Config

    bind_socket = Config.bind_socket

    def bind_tcp_socket(config: Config) -> socket.socket:
        sock = bind_socket(config)
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock  # a Unix socket: no Nagle
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, sock.detach())

    Config.bind_socket = bind_tcp_socket  # type: ignore[method-assign]


def run_uvicorn(arguments: list[str]) -> int:
    """uvicorn's command line in this process, its stops made quiet (see the module docstring).

    uvicorn puts its own handlers in place while it serves and restores these afterwards; in
    multi-worker mode its supervisor keeps its own and exits 0 by itself.
    """
    quiet_stops()
    keep_tcp_nodelay()
    from uvicorn.main import main as uvicorn_main

    uvicorn_main.main(args=arguments, prog_name="uvicorn")
    return 0  # not reached: click exits


def main(argv: list[str]) -> int:
    quiet_stops()
    if argv[1:2] == [UVICORN_MODE]:
        return run_uvicorn(argv[2:])
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
        fix = "make setup" if variant.interpreter in INTERPRETERS else "make other-cpythons"
        print(f"serve.py: {command[0]} is missing; run `{fix}`", file=sys.stderr)
        return 2
    print(f"serve.py: {variant.name} ({variant.display_name}): {' '.join(command[1:])}", flush=True)
    launch = in_process_command(command)
    os.execve(launch[0], launch, server_environment(dict(os.environ), variant))
    return 0  # not reached


# uvicorn's workers (WORKERS > 1) are started by multiprocessing's "spawn", which runs this file
# again as __mp_main__ in each new worker before the worker imports the app: a Ctrl-C while a
# worker is still starting ends it quietly too.
if __name__ == "__mp_main__":
    quiet_stops()

if __name__ == "__main__":
    sys.exit(main(sys.argv))
