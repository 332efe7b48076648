"""Settings read from the environment, checked once, with messages that say what is allowed.

No FastAPI here: the launcher (serve.py) checks the same settings before it starts uvicorn, so a bad
value stops start-up with one clear line instead of a traceback in every worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# fib(92) is the largest Fibonacci number that fits in a signed 64-bit integer; fib(93) wraps.
FIB_MAX_N_LIMIT = 92
DEFAULT_FIB_MAX_N = 35


class SettingsError(ValueError):
    """A setting from the environment is not usable; the message names it and its allowed values."""


def parse_int_setting(name: str, raw: str, low: int, high: int) -> int:
    """Parse an environment value as a whole number in low..high, or raise SettingsError."""
    text = raw.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    value = int(text)
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value}")
    return value


def read_fib_max_n(environ: Mapping[str, str] = os.environ) -> int:
    """The largest n that /fib/{n} accepts: FIB_MAX_N, default 35, at most 92 (the int64 limit)."""
    raw = environ.get("FIB_MAX_N")
    if raw is None or raw == "":
        return DEFAULT_FIB_MAX_N
    return parse_int_setting("FIB_MAX_N", raw, 0, FIB_MAX_N_LIMIT)


def available_cores() -> int:
    """Cores this process may run on (respects taskset/affinity, unlike os.cpu_count())."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
