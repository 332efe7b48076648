"""The endpoint contract as the tests expect it, written once for the in-process and HTTP suites.

Bodies are compared whole; only the fields that name the variant or time it may differ.
"""

from __future__ import annotations

from typing import Any

from baseline.fib_settings import DEFAULT_FIB_MAX_N
from contract_check import fib_exact

DEFAULT_CAP = DEFAULT_FIB_MAX_N  # FIB_MAX_N when the environment does not set it
fib_reference = fib_exact  # the exact Fibonacci numbers every variant must return

VARIANT_FIELDS = ("runtime", "implementation", "compute_time_seconds")
EXACT_RANGE = range(26)  # every n in 0..25 is checked exactly, plus the cap
LONG = 4301  # one digit more than Python 3.11+ lets int() convert

# Spellings of an integer in range: the value decides, not the spelling (README, "The contract").
ACCEPTED_SPELLINGS = [  # (case id, path segment, the n it means)
    ("leading-zeros", "0005", 5),
    ("plus-sign", "+5", 5),
    ("minus-zero", "-0", 0),
    ("long-zeros", "0" * LONG, 0),
    ("long-minus-zeros", "-" + "0" * LONG, 0),
    ("long-zeros-then-digit", "0" * (LONG - 1) + "7", 7),
]


NOT_INT = "which is not an integer"


def range_message(cap: int, shown: str) -> str:
    return f"n must be an integer from 0 to {cap} (FIB_MAX_N); got {shown}"


def bad_requests(cap: int) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(case id, path, status, whole JSON body) for inputs every variant must refuse alike."""
    long_digits = "9" * 5000
    zeros_then_over_cap = "0" * (LONG - 1) + str(cap + 1)
    out_of_range = [  # (case, path segment, how the message shows it)
        ("cap+1", str(cap + 1), str(cap + 1)),
        ("negative", "-1", "-1"),
        ("huge", long_digits, long_digits[:40] + "..."),
        ("huge-negative", "-" + long_digits, "-" + long_digits[:39] + "..."),
        ("huge-plus", "+" + long_digits, "+" + long_digits[:39] + "..."),
        ("long-zeros-then-over-cap", zeros_then_over_cap, zeros_then_over_cap[:40] + "..."),
        ("long-minus-zeros-then-one", "-" + "0" * LONG + "1", "-" + "0" * 39 + "..."),
    ]
    not_integers = [  # (case, path segment as sent, the segment as the server decodes it)
        ("word", "abc", "abc"),
        ("float", "1.5", "1.5"),
        ("float-integral", "2.0", "2.0"),
        ("exponent", "1e3", "1e3"),
        ("underscore", "1_0", "1_0"),
        ("space", "%205", " 5"),
        ("arabic-digit", "%D9%A3", "\u0663"),
        ("two-signs", "--5", "--5"),
        ("sign-only", "-", "-"),
        ("long-minus-run", "-" * LONG, "-" * 40 + "..."),
    ]
    cases = [
        (case, f"/fib/{segment}", 400, {"detail": range_message(cap, shown)})
        for case, segment, shown in out_of_range
    ]
    cases += [
        (case, f"/fib/{segment}", 422, {"detail": range_message(cap, f"{decoded!r}, " + NOT_INT)})
        for case, segment, decoded in not_integers
    ]
    cases.append(("missing", "/fib/", 404, {"detail": "Not Found"}))
    return cases


def without_variant_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in VARIANT_FIELDS}


def check_fib_body(body: dict[str, Any], n: int, implementation: str, runtime: str) -> None:
    """A /fib/{n} body: the exact result, a plausible compute time, the variant's own names."""
    assert without_variant_fields(body) == {"n": n, "result": fib_reference(n)}
    assert body["implementation"] == implementation
    assert body["runtime"] == runtime
    assert isinstance(body["compute_time_seconds"], float)
    assert body["compute_time_seconds"] >= 0.0
