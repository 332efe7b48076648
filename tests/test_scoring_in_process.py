"""The case study's scoring service in-process, through TestClient, with both ways of validating:
the golden corpus, a table of bad requests, a fuzzing property, and the settings. Plain Python: it
also runs under PyPy (`.venv/pypy/bin/python -m pytest tests/test_scoring_in_process.py`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baseline.fib_settings import SettingsError
from fraud_scoring.golden import answer_differences, load_corpus
from scoring_app import (
    MAX_BODY_BYTES,
    STARTUP_FAILURE,
    app_from_environment,
    create_app,
    runtime_description,
)
from scoring_settings import (
    ENGINE_FLAVOURS,
    import_engine,
    is_compiled,
    read_scoring_settings,
)
from scoring_validation import (
    MAX_AMOUNT,
    MAX_HISTORY,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    TRANSACTION_FIELDS,
)

MODES = ("pydantic", "python")
CORPUS = load_corpus()
CASES = CORPUS["cases"]
ANSWER_KEYS = {"score", "decision", "rules", "engine"}
JSON_HEADERS = {"content-type": "application/json"}
# A valid request to break one field at a time: a 12-entry history.
BASE = copy.deepcopy(CASES[0]["request"])
NOW = BASE["transaction"]["timestamp"]
DELETE = object()  # as a field's new value: leave the field out


def make_client(validation: str, engine: str = "python") -> TestClient:
    # A 5xx must show as a status, not as an exception in the test.
    return TestClient(create_app(engine, validation), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    made = {mode: make_client(mode) for mode in MODES}
    yield made
    for client in made.values():
        client.close()


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post("/score", content=body, headers=JSON_HEADERS if headers is None else headers)


def as_body(request: Any) -> bytes:
    return json.dumps(request).encode()  # NaN and Infinity as JSON's extensions spell them


def changed(fields: dict, changes: dict) -> dict:
    result = dict(fields)
    for name, value in changes.items():
        if value is DELETE:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def with_transaction(**changes: Any) -> bytes:
    return as_body({**BASE, "transaction": changed(BASE["transaction"], changes)})


def with_history_entry(index: int, **changes: Any) -> bytes:
    history = list(BASE["history"])
    history[index] = changed(history[index], changes)
    return as_body({**BASE, "history": history})


def with_request(**changes: Any) -> bytes:
    return as_body(changed(BASE, changes))


# The health answer


@pytest.mark.parametrize("mode", MODES)
def test_health_names_runtime_engine_and_validation(clients: dict[str, TestClient], mode: str):
    response = clients[mode].get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "runtime": runtime_description(),
        "engine": "python",
        "compiled": False,
        "validation": mode,
    }


def test_the_schema_describes_both_routes(clients: dict[str, TestClient]):
    schema = clients["python"].get("/openapi.json").json()
    assert set(schema["paths"]) == {"/health", "/score"}
    assert set(schema["paths"]["/score"]["post"]["responses"]) == {"200", "413", "415", "422"}


# The golden corpus


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden_case_gets_its_stored_answer(
    clients: dict[str, TestClient], mode: str, case: dict
) -> None:
    response = post(clients[mode], as_body(case["request"]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == ANSWER_KEYS  # nothing timing-dependent
    assert answer["engine"] == "python"
    assert answer_differences(case["name"], case["expected"], answer) == []


COMPILED_FLAVOURS = [name for name in ENGINE_FLAVOURS if name != "python"]


@pytest.mark.parametrize("flavour", COMPILED_FLAVOURS)
def test_a_built_engine_flavour_gives_the_golden_answers(flavour: str) -> None:
    try:
        client = make_client("python", engine=flavour)
    except SettingsError as error:
        pytest.skip(str(error))
    with client:
        health = client.get("/health").json()
        assert (health["engine"], health["compiled"]) == (flavour, True)
        for case in CASES:
            answer = post(client, as_body(case["request"])).json()
            assert answer["engine"] == flavour
            assert answer_differences(case["name"], case["expected"], answer) == []


# Bad requests: (name, body, headers or None for JSON, status, what the detail must mention)

TOO_LONG = as_body({**BASE, "history": [BASE["history"][0]] * (MAX_HISTORY + 1)})
LATER = NOW + 1
BAD_REQUESTS: list[tuple[str, bytes, dict[str, str] | None, int, str]] = [
    ("malformed JSON", b'{"transaction": {', None, 422, "not valid JSON"),
    ("empty body", b"", None, 422, "not valid JSON"),
    ("trailing garbage", as_body(BASE) + b" x", None, 422, "not valid JSON"),
    ("not UTF-8", b'{"transaction": "\xff"}', None, 422, "not valid JSON"),
    ("a list", b"[]", None, 422, "the body must be a JSON object"),
    ("null", b"null", None, 422, "the body must be a JSON object"),
    ("no transaction", with_request(transaction=DELETE), None, 422, "transaction is missing"),
    ("no history", with_request(history=DELETE), None, 422, "history is missing"),
    ("transaction a string", with_request(transaction="x"), None, 422, "transaction must be"),
    ("unknown top-level field", with_request(debug=True), None, 422, 'unknown field "debug"'),
    *[
        (f"no {name}", with_transaction(**{name: DELETE}), None, 422, f"transaction.{name} is")
        for name in TRANSACTION_FIELDS
    ],
    *[
        (f"amount {label}", with_transaction(amount=value), None, 422, "transaction.amount must")
        for label, value in [
            ("NaN", float("nan")),
            ("Infinity", float("inf")),
            ("-Infinity", float("-inf")),
            ("1e400", 1e400),
            ("zero", 0),
            ("negative", -5.0),
            ("absurd", MAX_AMOUNT * 10.0),
            ("huge integer", 10**40),
            ("true", True),
            ("a string", "12.5"),
            ("null", None),
        ]
    ],
    ("currency unknown", with_transaction(currency="XYZ"), None, 422, "transaction.currency"),
    ("currency lower case", with_transaction(currency="usd"), None, 422, "transaction.currency"),
    ("currency a number", with_transaction(currency=840), None, 422, "transaction.currency"),
    *[
        (f"category {label}", with_transaction(merchant_category=value), None, 422, "category")
        for label, value in [
            ("3 digits", "541"),
            ("5 digits", "54111"),
            ("a letter", "54a1"),
            ("an integer", 5411),
            ("other digits", "\u0665\u0664\u0661\u0661"),
            ("newline", "5411\n"),
        ]
    ],
    *[
        (f"country {label}", with_transaction(country=value), None, 422, "transaction.country")
        for label, value in [("lower case", "de"), ("3 letters", "DEU"), ("digit", "D1")]
    ],
    *[
        (f"timestamp {label}", with_transaction(timestamp=value), None, 422, ".timestamp must")
        for label, value in [
            ("1.5", 1.5),
            ("a whole float", float(NOW)),
            ("a string", str(NOW)),
            ("true", True),
            ("milliseconds", NOW * 1000),
            ("before the range", MIN_TIMESTAMP - 1),
            ("after the range", MAX_TIMESTAMP + 1),
        ]
    ],
    ("channel unknown", with_transaction(channel="mail"), None, 422, "transaction.channel"),
    ("unknown field", with_transaction(card_id="x"), None, 422, 'unknown field "card_id"'),
    ("history an object", with_request(history={}), None, 422, "history must be a list"),
    ("history of 51", TOO_LONG, None, 422, "at most 50 transactions; got 51 entries"),
    ("history entry a number", with_request(history=[5]), None, 422, "history[0] must be"),
    ("history NaN amount", with_history_entry(3, amount=float("nan")), None, 422, "history[3]."),
    ("history no channel", with_history_entry(1, channel=DELETE), None, 422, "history[1].channel"),
    ("history extra field", with_history_entry(0, note="x"), None, 422, "history[0] has an"),
    ("history later", with_history_entry(2, timestamp=LATER), None, 422, "history[2].timestamp"),
    ("text/plain", as_body(BASE), {"content-type": "text/plain"}, 415, "application/json"),
    ("no content type", as_body(BASE), {}, 415, "application/json"),
    ("a form", b"a=1", {"content-type": "application/x-www-form-urlencoded"}, 415, "JSON"),
    ("over the limit", b" " * (MAX_BODY_BYTES + 1), None, 413, str(MAX_BODY_BYTES)),
]


@pytest.mark.parametrize(
    ("body", "headers", "status", "mention"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_bad_request_is_refused_alike_by_both_ways(
    clients: dict[str, TestClient], body: bytes, headers, status: int, mention: str
) -> None:
    answers = {mode: post(clients[mode], body, headers) for mode in MODES}
    for mode, response in answers.items():
        assert response.status_code == status, (mode, response.text)
        assert mention in response.json()["detail"], mode
    assert answers["pydantic"].json() == answers["python"].json()


def chunks_of(total: int, size: int = 4096) -> Iterator[bytes]:
    """`total` bytes in chunks: sent without a Content-Length, as chunked transfer encoding."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


@pytest.mark.parametrize("mode", MODES)
def test_a_chunked_body_over_the_limit_is_refused(clients: dict[str, TestClient], mode: str):
    response = post(clients[mode], chunks_of(MAX_BODY_BYTES + 1))  # type: ignore[arg-type]
    assert response.status_code == 413
    assert response.request.headers.get("content-length") is None
    assert post(clients[mode], as_body(BASE)).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_a_body_at_the_limit_is_read(clients: dict[str, TestClient], mode: str):
    padded = as_body(BASE)
    padded += b" " * (MAX_BODY_BYTES - len(padded))  # JSON allows trailing whitespace
    assert post(clients[mode], padded).status_code == 200
    assert post(clients[mode], chunks_of(MAX_BODY_BYTES)).status_code == 422  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_other_methods_are_not_allowed(clients: dict[str, TestClient], mode: str):
    assert clients[mode].get("/score").status_code == 405


# A fuzzing property: whatever JSON arrives, no 5xx, and both ways give the same status.

# The values where a check is most likely to slip: non-finite floats, bools, the limits.
edge_values = st.sampled_from(
    [
        float("nan"), float("inf"), float("-inf"), -0.0, True, False, 0, 1.5,
        MAX_AMOUNT, MAX_AMOUNT + 1, MIN_TIMESTAMP - 1, MIN_TIMESTAMP, NOW, NOW + 1, float(NOW),
        MAX_TIMESTAMP, MAX_TIMESTAMP + 1, "USD", "usd", "5411", "DE", "online", "", "\ud800",
    ]
)  # fmt: skip
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | edge_values
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
field_names = st.sampled_from((*TRANSACTION_FIELDS, "extra"))


@st.composite
def scoring_bodies(draw: st.DrawFn) -> bytes:
    """A valid request with one part replaced by an arbitrary JSON value, any JSON at all, or
    arbitrary bytes."""
    kind = draw(st.sampled_from(("transaction field", "history field", "top level", "any")))
    if kind == "any":
        return draw(st.binary(max_size=64) | json_values.map(as_body))
    if kind == "top level":
        name = draw(st.sampled_from(("transaction", "history", "extra")))
        return with_request(**{name: draw(json_values)})
    changes = {draw(field_names): draw(edge_values | json_values | st.just(DELETE))}
    if kind == "transaction field":
        return with_transaction(**changes)
    index = draw(st.integers(0, len(BASE["history"]) - 1))
    return with_history_entry(index, **changes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=scoring_bodies())
def test_no_body_gets_a_5xx_and_both_ways_agree(clients: dict[str, TestClient], body: bytes):
    statuses = {mode: post(clients[mode], body).status_code for mode in MODES}
    assert statuses["pydantic"] in (200, 422), statuses
    assert statuses["pydantic"] == statuses["python"], statuses


# Settings


def test_settings_default_to_the_python_engine_and_pydantic():
    chosen = read_scoring_settings({})
    assert (chosen.engine, chosen.validation) == ("python", "pydantic")
    chosen = read_scoring_settings({"SCORING_ENGINE": " Mypyc ", "SCORING_VALIDATION": "PYTHON"})
    assert (chosen.engine, chosen.validation) == ("mypyc", "python")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"SCORING_ENGINE": "cpython"},
            "SCORING_ENGINE must be one of python, cython, cython-typed, mypyc, got 'cpython'",
        ),
        (
            {"SCORING_VALIDATION": "fast"},
            "SCORING_VALIDATION must be one of pydantic, python, got 'fast'",
        ),
    ],
)
def test_a_bad_setting_is_refused_with_what_is_allowed(environ: dict, message: str):
    with pytest.raises(SettingsError) as refused:
        read_scoring_settings(environ)
    assert str(refused.value) == message


def test_create_app_checks_the_values_it_is_given():
    with pytest.raises(SettingsError, match="SCORING_VALIDATION must be one of pydantic, python"):
        create_app("python", "marshmallow")


def test_an_engine_that_is_not_built_names_its_make_target():
    with pytest.raises(SettingsError) as refused:
        import_engine("fraud_scoring_not_built", "build-it", "SCORING_ENGINE=x")
    assert str(refused.value) == (
        "SCORING_ENGINE=x needs fraud_scoring_not_built, which is not built; "
        "`make build-it` builds it"
    )


def test_compiled_means_loaded_from_an_extension():
    import pydantic_core._pydantic_core as extension  # a compiled module under both interpreters

    import fraud_scoring.engine as source

    assert is_compiled(extension)
    assert not is_compiled(source)


def test_a_bad_setting_stops_the_app_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("SCORING_VALIDATION", "fast")
    with pytest.raises(SystemExit) as stopped:
        app_from_environment()
    assert stopped.value.code == STARTUP_FAILURE
    assert capsys.readouterr().err == (
        "scoring_app: SCORING_VALIDATION must be one of pydantic, python, got 'fast'\n"
    )
