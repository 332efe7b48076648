"""Settings read from the environment, checked once, with messages that say what is allowed.

No FastAPI here: the launcher (serve.py) checks the same settings before it starts uvicorn, so a bad
value stops start-up with one clear line instead of a traceback in every worker.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path


def _largest_n_in_int64() -> int:
    """The largest n whose Fibonacci number a signed 64-bit integer holds (the compiled variants'
    result type): computed, so the limit cannot drift from the type."""
    n, current, following = 0, 0, 1
    while following < 2**63:
        n, current, following = n + 1, following, current + following
    return n


FIB_MAX_N_LIMIT = _largest_n_in_int64()  # 92: fib(92) < 2**63 <= fib(93)
DEFAULT_FIB_MAX_N = 35
DEFAULT_BUDGET_SECONDS = 10.0
BUDGET_RANGE = (0.001, 3600.0)
# A computation expected to take at most this long runs on the event loop; a longer one goes to a
# worker thread. 1 ms: the thread hand-off costs tens of microseconds a request (most of a cheap
# request's time), while 1 ms on the loop delays /health by no more than a millisecond.
DEFAULT_INLINE_SECONDS = 0.001
INLINE_RANGE = (0.0, 1.0)
# How long one turn of a worker's event loop may go on starting requests before the rest wait for
# the next turn (baseline/turn_budget.py): a few such turns keep /health far under its second at
# any number of connections; 0 turns the budget off.
DEFAULT_TURN_BUDGET_SECONDS = 0.05
TURN_BUDGET_RANGE = (0.0, 1.0)
ECHO_LIMIT = 40  # how much of a bad value a message repeats

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")  # ASCII only: int() would also take "٣" and "1_0"
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_CGROUP_ROOT = Path("/sys/fs/cgroup")


class SettingsError(ValueError):
    """A setting from the environment is not usable; the message names it and its allowed values."""


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to `limit` characters (with "..."), so a message never repeats a huge input."""
    return text if len(text) <= limit else text[:limit] + "..."


def is_whole_number(text: str) -> bool:
    """ASCII digits with an optional sign, whatever the size."""
    return _WHOLE_NUMBER.fullmatch(text) is not None


def parse_whole_number(text: str, low: int, high: int) -> int | None:
    """`text` (ASCII digits, an optional sign, leading zeros allowed) as an int if its value is in
    low..high, else None. The digits are counted before int() is called, so a value of thousands
    of digits costs nothing (and int() refuses more than 4300 digits on Python 3.11+)."""
    if not is_whole_number(text):
        return None
    negative = text.startswith("-")
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > len(str(max(abs(low), abs(high)))):
        return None
    value = -int(digits) if negative else int(digits)
    return value if low <= value <= high else None


def parse_int_setting(name: str, raw: str, low: int, high: int) -> int:
    """Parse an environment value as a whole number in low..high, or raise SettingsError."""
    text = raw.strip()
    value = parse_whole_number(text, low, high)
    if value is None:
        shown = shorten(text) if is_whole_number(text) else repr(shorten(text))
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {shown}")
    return value


def read_fib_max_n(environ: Mapping[str, str] = os.environ) -> int:
    """The largest n that /fib/{n} accepts: FIB_MAX_N, default 35, at most 92 (the int64 limit)."""
    raw = environ.get("FIB_MAX_N")
    if raw is None or raw == "":
        return DEFAULT_FIB_MAX_N
    return parse_int_setting("FIB_MAX_N", raw, 0, FIB_MAX_N_LIMIT)


def read_seconds_setting(
    name: str, environ: Mapping[str, str], default: float, low: float, high: float
) -> float:
    """A number of seconds (plain decimal notation) in low..high from the environment, or raise
    SettingsError; `default` when the variable is unset or empty."""
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    value = float(text) if _DECIMAL.fullmatch(text) and len(text) <= 20 else math.nan
    if not low <= value <= high:  # also false for nan
        raise SettingsError(
            f"{name} must be a number of seconds from {low:g} to {high:g}, got {shorten(text)!r}"
        )
    return value


def read_budget_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """FIB_BUDGET_SECONDS: the longest computation one request may ask for (default 10 s)."""
    return read_seconds_setting(
        "FIB_BUDGET_SECONDS", environ, DEFAULT_BUDGET_SECONDS, *BUDGET_RANGE
    )


def read_inline_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """FIB_INLINE_SECONDS: the longest expected computation that runs on the event loop instead
    of a worker thread (default 0.001 s; 0 hands every computation to a thread)."""
    return read_seconds_setting(
        "FIB_INLINE_SECONDS", environ, DEFAULT_INLINE_SECONDS, *INLINE_RANGE
    )


def read_turn_budget_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """TURN_BUDGET_SECONDS: how long one turn of the event loop may go on starting requests
    (default 0.05 s; 0: no budget), in both services."""
    return read_seconds_setting(
        "TURN_BUDGET_SECONDS", environ, DEFAULT_TURN_BUDGET_SECONDS, *TURN_BUDGET_RANGE
    )


def read_host(environ: Mapping[str, str] = os.environ) -> str:
    """HOST (default 127.0.0.1): an IP address or a name this machine resolves."""
    host = (environ.get("HOST") or "127.0.0.1").strip()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise SettingsError(
            f"HOST must be an IP address or a host name this machine resolves, "
            f"got {shorten(host)!r}"
        ) from None
    return host


def cgroup_cpu_limit(root: Path = _CGROUP_ROOT) -> int | None:
    """The CPUs a cgroup CPU quota allows (rounded up), or None without a quota.

    cgroup v2 writes "QUOTA PERIOD" (or "max PERIOD") to cpu.max; v1 has cpu.cfs_quota_us (-1 for
    none) and cpu.cfs_period_us. Inside a CPU-limited container this is the real number of cores,
    while the affinity mask still shows every core of the host.
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def available_cores(cgroup_root: Path = _CGROUP_ROOT) -> int:
    """Cores this process may run on: the affinity mask (taskset), bounded by a cgroup CPU quota
    (a container's --cpus), unlike os.cpu_count()."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = cgroup_cpu_limit(cgroup_root)
    return min(cores or 1, limit) if limit else cores or 1
