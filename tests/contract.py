"""The endpoint contract as the tests expect it, written once for the in-process and HTTP suites.

Bodies are compared whole; only the fields that name the variant or time it may differ.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CAP = 35  # FIB_MAX_N when the environment does not set it
VARIANT_FIELDS = ("runtime", "implementation", "compute_time_seconds")
EXACT_RANGE = range(26)  # every n in 0..25 is checked exactly, plus the cap


def fib_reference(n: int) -> int:
    """Exact Fibonacci by iteration with Python integers: the reference every variant must match."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


NOT_INT = "which is not an integer"


def range_message(cap: int, shown: str) -> str:
    return f"n must be an integer from 0 to {cap} (FIB_MAX_N); got {shown}"


def bad_requests(cap: int) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(case id, path, status, whole JSON body) for inputs every variant must refuse alike."""
    long_digits = "9" * 5000
    out_of_range = [  # (case, path segment, how the message shows it)
        ("cap+1", str(cap + 1), str(cap + 1)),
        ("negative", "-1", "-1"),
        ("huge", long_digits, long_digits[:40] + "..."),
        ("huge-negative", "-" + long_digits, "-" + long_digits[:39] + "..."),
    ]
    not_integers = [  # (case, path segment as sent, the segment as the server decodes it)
        ("word", "abc", "abc"),
        ("float", "1.5", "1.5"),
        ("float-integral", "2.0", "2.0"),
        ("exponent", "1e3", "1e3"),
        ("underscore", "1_0", "1_0"),
        ("space", "%205", " 5"),
        ("arabic-digit", "%D9%A3", "\u0663"),
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
