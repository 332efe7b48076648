"""Schema fuzzing: schemathesis against each service's own /openapi.json, as the running server
publishes it, over real HTTP: the scoring service on CPython (`scoring`) and on PyPy with the
request checked in plain Python (`scoring-pypy-lean`), the Fibonacci service on CPython
(`baseline`) and PyPy (`pypy`), one worker each.

Each server gets two runs, schema-valid requests (--mode positive) and schema-violating ones
(--mode negative), each with every check schemathesis has, --max-examples 200 (the fuzzing
phase's requests per operation, beside the coverage phase's boundary cases), --seed 1, no example
database, one schemathesis worker. The run must pass every case it generated, print no warning,
and have sent at least 200 requests to each operation that takes input (counted in its HAR file).
The Fibonacci servers run with FIB_MAX_N=25 (fib(25) takes milliseconds on CPython, fib(35)
seconds): the published schema declares that maximum, so the fuzzer covers the whole range served.

One check is left out, in one run: positive_data_acceptance ("a schema-valid request must be
accepted") against the scoring service, because the service rightly refuses, with 422 (declared),
two kinds of request that its schema calls valid and no JSON Schema can call invalid:
- a history entry later than the transaction: a rule between two fields;
- a timestamp written with a fraction (1700000000.0): JSON Schema's "integer" is any number with
  no fractional part, while the service (strict, as the engine's data are) takes only an integer.
In its place the test reads every answer of that run: each request is scored (200) unless it
breaks one of those two rules, and then it gets 422 with exactly that rule's message; and both
refusals are shown for bodies that the published schema validates (jsonschema_rs).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema_rs
import pytest

from benchmarks.servers import RunningServer, running_server
from processes import http_get, http_post
from variants import get_variant

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 200  # --max-examples: the fuzzing phase's requests per operation
FIB_MAX_N = 25
SCORING_NAMES = ("scoring", "scoring-pypy-lean")
FIB_NAMES = ("baseline", "pypy")
MODES = ("positive", "negative")
# Inexpressible in JSON Schema (the module docstring): checked by schema_valid_refusal instead.
SCORING_POSITIVE_EXCLUDED = "positive_data_acceptance"


def start(name: str, **env: str) -> Iterator[RunningServer]:
    variant = get_variant(name)
    if not variant.installed:
        pytest.skip(f"{variant.interpreter_path} is not installed")
    with running_server(variant, workers=1, env=env) as server:
        yield server


@pytest.fixture(scope="module", params=SCORING_NAMES)
def scoring_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    yield from start(request.param)


@pytest.fixture(scope="module", params=FIB_NAMES)
def fib_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    yield from start(request.param, FIB_MAX_N=str(FIB_MAX_N))


def published_schema(server: RunningServer) -> dict:
    return json.loads(http_get(f"{server.base_url}/openapi.json").body)


def fuzz(server: RunningServer, mode: str, tmp_path: Path, *excluded: str) -> list[dict]:
    """Run schemathesis against the server's /openapi.json, assert that it found nothing, and
    return the requests and answers it recorded (HAR entries)."""
    har = tmp_path / "run.har"
    exclude = ["--exclude-checks", ",".join(excluded)] if excluded else []
    completed = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{server.base_url}/openapi.json", "--mode", mode,
            "--checks", "all", *exclude, "--max-examples", str(EXAMPLES_PER_OPERATION),
            "--seed", "1", "--generation-database", "none", "--workers", "1", "--no-color",
            "--report", "har", "--report-har-path", str(har),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    summary = completed.stdout[-4000:]
    assert completed.returncode == 0, summary
    counts = re.search(r"\n\s*(\d+) generated, (\d+) passed\n", completed.stdout)
    assert counts and counts[1] == counts[2], summary  # nothing failed, errored or was skipped
    assert "Warnings:" not in completed.stdout, summary
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) == int(counts[1]), summary  # every generated case was sent
    return entries


def requests_to(entries: list[dict], method: str, path: str) -> list[dict]:
    """The entries of `method` requests whose path starts with `path`."""
    return [
        entry
        for entry in entries
        if entry["request"]["method"] == method
        and re.sub(r"^https?://[^/]+", "", entry["request"]["url"]).startswith(path)
    ]


def schema_valid_refusal(body: dict) -> str | None:
    """The 422 message the service gives a schema-valid body that breaks a rule no JSON Schema
    states (the module docstring), found in the order the service checks; None if it breaks none."""
    from scoring_validation import invalid_value, later_than_transaction

    entries = [(("transaction",), body["transaction"])]
    entries += [(("history", index), entry) for index, entry in enumerate(body["history"])]
    for location, entry in entries:
        if isinstance(entry["timestamp"], float):
            return invalid_value((*location, "timestamp"), entry["timestamp"])
    now = body["transaction"]["timestamp"]
    for index, entry in enumerate(body["history"]):
        if entry["timestamp"] > now:
            return later_than_transaction(index, entry["timestamp"], now)
    return None


def test_the_published_schema_declares_the_request_body(scoring_server: RunningServer):
    from scoring_app import ScoreRequest

    schema = published_schema(scoring_server)
    assert schema["paths"]["/score"]["post"]["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}},
    }
    model = ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema["components"]["schemas"]
    assert components["Transaction"] == model.pop("$defs")["Transaction"]
    assert components["ScoreRequest"] == model


@pytest.mark.parametrize(
    "change, detail",
    [
        pytest.param(
            lambda body: body["history"][0].update(timestamp=1_700_000_001),
            "history[0].timestamp must not be later than transaction.timestamp (1700000000); "
            "got 1700000001",
            id="a-history-entry-later-than-the-transaction",
        ),
        pytest.param(
            lambda body: body["transaction"].update(timestamp=1_700_000_000.0),
            "transaction.timestamp must be a whole number of Unix seconds from 946684800 to "
            "4102444800; got 1700000000.0",
            id="a-timestamp-written-with-a-fraction",
        ),
    ],
)
def test_the_schema_calls_valid_what_the_service_refuses(
    scoring_server: RunningServer, change, detail: str
):
    """Why positive_data_acceptance is left out: these bodies are valid by the published schema,
    and the service refuses them as its contract says (and as schema_valid_refusal expects)."""
    entry = {
        "amount": 42.5,
        "currency": "EUR",
        "merchant_category": "5411",
        "country": "DE",
        "timestamp": 1_700_000_000,
        "channel": "online",
    }
    body = {"transaction": dict(entry), "history": [dict(entry, timestamp=1_699_990_000)]}
    change(body)
    schema = published_schema(scoring_server)
    validator = jsonschema_rs.validator_for({**schema, "$ref": "#/components/schemas/ScoreRequest"})
    assert validator.is_valid(body)
    answer = http_post(f"{scoring_server.base_url}/score", json.dumps(body).encode())
    assert (answer.status, json.loads(answer.body)) == (422, {"detail": detail})
    assert schema_valid_refusal(body) == detail


@pytest.mark.parametrize("mode", MODES)
def test_schemathesis_finds_nothing_in_the_scoring_service(
    scoring_server: RunningServer, mode: str, tmp_path: Path
):
    excluded = [SCORING_POSITIVE_EXCLUDED] if mode == "positive" else []
    entries = fuzz(scoring_server, mode, tmp_path, *excluded)
    scores = requests_to(entries, "POST", "/score")
    assert len(scores) >= EXAMPLES_PER_OPERATION
    assert requests_to(entries, "GET", "/health")
    if mode == "positive":  # the excluded check, less the two rules the schema cannot state
        for entry in scores:
            body = json.loads(entry["request"]["postData"]["text"])
            status, answer = entry["response"]["status"], entry["response"]["content"]["text"]
            refusal = schema_valid_refusal(body)
            expected = (200, None) if refusal is None else (422, refusal)
            assert (status, json.loads(answer).get("detail")) == expected, body
        scored = sum(entry["response"]["status"] == 200 for entry in scores)
        assert scored > len(scores) / 2  # most of them reach the engine and its response schema


def test_the_published_schema_declares_fib_max_n(fib_server: RunningServer):
    parameter = published_schema(fib_server)["paths"]["/fib/{n}"]["get"]["parameters"][0]
    assert parameter["schema"]["maximum"] == FIB_MAX_N


@pytest.mark.parametrize("mode", MODES)
def test_schemathesis_finds_nothing_in_the_fib_service(
    fib_server: RunningServer, mode: str, tmp_path: Path
):
    entries = fuzz(fib_server, mode, tmp_path)
    assert len(requests_to(entries, "GET", "/fib/")) >= EXAMPLES_PER_OPERATION
    assert requests_to(entries, "GET", "/health")
