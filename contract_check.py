"""The endpoint contract, checked over HTTP against a running server. The harness runs it before
any load (as TechEmpower verifies before it measures: a variant that answers wrongly is not
measured, and its row says why), and the Docker proof runs it against each emulated image."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from processes import http_get

EXACT_N = (0, 1, 2, 10, 20, 30)
FIB_FIELDS = {"n", "result", "compute_time_seconds", "runtime", "implementation"}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: object


def fib_exact(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def fetch(base_url: str, path: str, timeout: float = 60.0) -> Response:
    """GET base_url + path (no proxy), its body as JSON where it is JSON, else as text."""
    answer = http_get(base_url + path, timeout)
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = answer.body.decode(errors="replace")
    return Response(answer.status, answer.headers, body)


def check_fib(base_url: str, n: int) -> str:
    """'' if GET /fib/{n} follows the contract, else what is wrong."""
    response = fetch(base_url, f"/fib/{n}")
    if response.status != 200:
        return f"status {response.status}, expected 200"
    if response.headers.get("content-type") != "application/json":
        return f"content-type {response.headers.get('content-type')!r}, expected application/json"
    body = response.body
    if not isinstance(body, dict) or set(body) != FIB_FIELDS:
        return f"body {body!r} lacks the fields {sorted(FIB_FIELDS)}"
    if body["n"] != n or body["result"] != fib_exact(n):
        return f"result {body['result']!r} for n={body['n']!r}, expected {fib_exact(n)}"
    if not isinstance(body["compute_time_seconds"], float) or body["compute_time_seconds"] < 0:
        return f"compute_time_seconds {body['compute_time_seconds']!r} is not a time"
    return ""


def _check_refused(base_url: str, path: str, status: int, mentions: str) -> str:
    response = fetch(base_url, path)
    if response.status != status:
        return f"status {response.status}, expected {status}"
    detail = response.body.get("detail") if isinstance(response.body, dict) else None
    if not isinstance(detail, str) or mentions not in detail:
        return f"body {response.body!r} does not state the allowed range ({mentions!r})"
    return ""


def _check_health(base_url: str) -> str:
    response = fetch(base_url, "/health", timeout=5)
    body = response.body
    if response.status != 200 or not isinstance(body, dict) or body.get("status") != "healthy":
        return f"status {response.status}, body {body!r}"
    if not body.get("runtime") or not body.get("implementation"):
        return f"body {body!r} does not name the runtime and implementation"
    return ""


def verify(base_url: str, fib_max_n: int) -> dict:
    """Run every check; {"passed": bool, "checks": [{"name", "passed", "detail"}]}."""
    allowed = f"from 0 to {fib_max_n}"
    checks = [("GET /health", lambda: _check_health(base_url))]
    checks += [
        (f"GET /fib/{n} is exact", lambda n=n: check_fib(base_url, n))
        for n in EXACT_N
        if n <= fib_max_n
    ]
    checks += [
        (
            f"GET /fib/{fib_max_n + 1} → 400",
            lambda: _check_refused(base_url, f"/fib/{fib_max_n + 1}", 400, allowed),
        ),
        ("GET /fib/-1 → 400", lambda: _check_refused(base_url, "/fib/-1", 400, allowed)),
        ("GET /fib/abc → 422", lambda: _check_refused(base_url, "/fib/abc", 422, allowed)),
        ("GET /fib/1.5 → 422", lambda: _check_refused(base_url, "/fib/1.5", 422, allowed)),
    ]
    return run_checks(checks)


def run_checks(checks: list[tuple[str, Callable[[], str]]]) -> dict:
    """Each named check ('' when it passes, else what is wrong), a failed request counted as a
    failed check; {"passed": bool, "checks": [{"name", "passed", "detail"}]}."""
    outcomes = []
    for name, check in checks:
        try:
            problem = check()
        except (OSError, ValueError) as error:
            problem = f"request failed: {error}"
        outcomes.append({"name": name, "passed": not problem, "detail": problem})
    return {"passed": all(o["passed"] for o in outcomes), "checks": outcomes}


def failure_summary(verification: dict) -> str:
    failed = [f"{c['name']}: {c['detail']}" for c in verification["checks"] if not c["passed"]]
    return "verification failed: " + "; ".join(failed)
