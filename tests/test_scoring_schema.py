"""A schema-driven client (schemathesis, every check) against the scoring service over real HTTP,
on CPython (`scoring`) and on PyPy with the request checked in plain Python (`scoring-pypy-lean`).

The service's own /openapi.json declares no request body for POST /score (the route reads and
checks the body itself, scoring_app.py), so against it schemathesis sends only bodiless requests
and counts the 415 they get as a valid request refused (ST202). That finding is pinned as it is.
The body is then fuzzed with schema-violating requests (--mode negative, every check: each must
be refused, nothing may be a 5xx, every answer as declared) against the published schema
completed with ScoreRequest's JSON schema. Schema-valid bodies (--mode positive) are not run:
ScoreRequest's JSON schema calls valid what the service rightly refuses (a history entry later
than the transaction, a timestamp of 1.0e9 where JSON Schema's "integer" admits 1.0e9).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.servers import RunningServer, running_server
from processes import http_get
from variants import get_variant

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 100  # --max-examples: generated requests per endpoint and phase
SCORING_NAMES = ("scoring", "scoring-pypy-lean")


@pytest.fixture(scope="module", params=SCORING_NAMES)
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    variant = get_variant(request.param)
    if not variant.installed:
        pytest.skip(f"{variant.interpreter_path} is not installed")
    with running_server(variant, workers=1) as server:
        yield server


def published_schema(server: RunningServer) -> dict:
    return json.loads(http_get(f"{server.base_url}/openapi.json").body)


def run_schemathesis(
    location: str, base_url: str, cwd: Path, *options: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(SCHEMATHESIS), "run", location, "--url", base_url,
            "--checks", "all", "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "1",
            "--generation-database", "none", "--no-color", "--workers", "1", *options,
        ],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def with_request_body(schema: dict) -> dict:
    """`schema` with POST /score's body declared as ScoreRequest, what the service accepts."""
    from scoring_app import ScoreRequest

    body = ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    schema["components"]["schemas"].update(body.pop("$defs"), ScoreRequest=body)
    schema["paths"]["/score"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}},
    }
    return schema


def test_the_published_schema_declares_no_request_body(server: RunningServer):
    """What schemathesis finds against /openapi.json as published: POST /score has no body, so
    a bodiless POST is "schema-valid" and its 415 a valid request refused (ST202)."""
    assert "requestBody" not in published_schema(server)["paths"]["/score"]["post"]


def test_schemathesis_finds_nothing_with_invalid_bodies_against_the_declared_body(
    server: RunningServer, tmp_path: Path
):
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(with_request_body(published_schema(server))))
    completed = run_schemathesis(str(schema_file), server.base_url, tmp_path, "--mode", "negative")
    summary = completed.stdout[-4000:]
    assert completed.returncode == 0, summary
    assert re.search(r"(\d+) generated, \1 passed", completed.stdout), summary
