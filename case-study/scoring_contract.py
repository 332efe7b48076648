"""The scoring service's contract, checked over HTTP against a running server (what
contract_check.py is for the Fibonacci apps): the harness runs it before any load, so a flavour
that answers wrongly is not measured, and its row says why.

Every case of the golden corpus must get its stored answer (decision, rules in order, score within
1e-9); a bad amount, a body that is not JSON, one over the size limit and one not declared as JSON
must each get their 4xx with a message.
"""

from __future__ import annotations

import json
from typing import Callable

from contract_check import run_checks
from fraud_scoring.golden import answer_differences, load_corpus
from processes import Answer, http_get, http_post
from scoring_validation import MAX_BODY_BYTES

HEALTH_FIELDS = {"status", "runtime", "engine", "compiled", "validation"}
ANSWER_FIELDS = {"score", "decision", "rules", "engine"}


def post_score(base_url: str, body: bytes, content_type: str = "application/json") -> Answer:
    return http_post(f"{base_url}/score", body, content_type, timeout=30)


def check_health(base_url: str) -> str:
    """'' if GET /health says what the server runs, else what is wrong."""
    answer = http_get(f"{base_url}/health", timeout=5)
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, dict) or body.get("status") != "healthy":
        return f"status {answer.status}, body {answer.body[:200]!r}"
    if set(body) != HEALTH_FIELDS:
        return f"fields {sorted(body)}, expected {sorted(HEALTH_FIELDS)}"
    return ""


def check_golden(base_url: str) -> str:
    """'' if every golden case gets its stored answer over HTTP, else the first differences."""
    problems: list[str] = []
    for case in load_corpus()["cases"]:
        answer = post_score(base_url, json.dumps(case["request"]).encode())
        if answer.status != 200:
            problems.append(f"{case['name']}: status {answer.status}")
            continue
        body = answer.json()
        if set(body) != ANSWER_FIELDS:
            problems.append(f"{case['name']}: fields {sorted(body)}")
            continue
        problems += answer_differences(case["name"], case["expected"], body)
    return "; ".join(problems[:3])


def check_refused(
    base_url: str, body: bytes, status: int, mentions: str, content_type: str = "application/json"
) -> str:
    """'' if POST /score of `body` gets `status` with a detail that mentions `mentions`."""
    answer = post_score(base_url, body, content_type)
    detail = answer.json().get("detail") if answer.status == status else None
    if answer.status != status or not isinstance(detail, str) or mentions not in detail:
        return f"status {answer.status}, body {answer.body[:200]!r}: expected {status} ({mentions})"
    return ""


def negative_amount_body() -> bytes:
    request = load_corpus()["cases"][0]["request"]
    return json.dumps({**request, "transaction": {**request["transaction"], "amount": -5}}).encode()


def verify_scoring(base_url: str) -> dict:
    """Run every check; {"passed": bool, "checks": [{"name", "passed", "detail"}]}, the shape of
    contract_check.verify's answer."""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("GET /health", lambda: check_health(base_url)),
        ("the golden corpus gets its answers", lambda: check_golden(base_url)),
        (
            "a negative amount → 422",
            lambda: check_refused(base_url, negative_amount_body(), 422, "amount"),
        ),
        ("a body that is not JSON → 422", lambda: check_refused(base_url, b"{", 422, "JSON")),
        (
            f"a body over {MAX_BODY_BYTES} bytes → 413",
            lambda: check_refused(base_url, b" " * (MAX_BODY_BYTES + 1), 413, "at most"),
        ),
        (
            "a body not declared as JSON → 415",
            lambda: check_refused(base_url, b"{}", 415, "JSON", content_type="text/plain"),
        ),
    ]
    return run_checks(checks)
