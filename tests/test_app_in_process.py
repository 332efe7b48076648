"""The contract, in-process through TestClient, for each variant of the interpreter running pytest
(`make test` runs this file under CPython and under PyPy)."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from baseline.baseline_app import create_app
from baseline.fib_cost import CostModel, recursive_calls
from baseline.fib_settings import available_cores
from baseline.runtime import runtime_description
from tests.conftest import (
    app_module,
    expected_implementation,
    expected_runtime_prefix,
    variants_of_this_interpreter,
)
from tests.contract import (
    ACCEPTED_SPELLINGS,
    DEFAULT_CAP,
    EXACT_RANGE,
    bad_requests,
    check_fib_body,
    fib_reference,
)
from variants import Variant

VARIANTS_HERE = variants_of_this_interpreter()
FUZZ_CAP = 20


@pytest.fixture(scope="module", params=VARIANTS_HERE, ids=[v.name for v in VARIANTS_HERE])
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.param


@pytest.fixture(scope="module")
def client(variant: Variant) -> Iterator[TestClient]:
    with TestClient(app_module(variant).app) as client:  # `with` runs the lifespan
        yield client


def app_with(variant: Variant, **options) -> TestClient:
    module = app_module(variant)
    app = create_app(module.fib_recursive, expected_implementation(variant), **options)
    return TestClient(app, raise_server_exceptions=False)


def test_health_names_the_interpreter_and_the_hot_path(client: TestClient, variant: Variant):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "runtime": runtime_description(),
        "implementation": expected_implementation(variant),
    }
    assert runtime_description().startswith(expected_runtime_prefix(variant))


@pytest.mark.parametrize("n", [*EXACT_RANGE, DEFAULT_CAP])
def test_fib_is_exact(client: TestClient, variant: Variant, n: int):
    response = client.get(f"/fib/{n}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    check_fib_body(response.json(), n, expected_implementation(variant), runtime_description())


@pytest.mark.parametrize(
    ("segment", "n"),
    [case[1:] for case in ACCEPTED_SPELLINGS],
    ids=[case[0] for case in ACCEPTED_SPELLINGS],
)
def test_the_value_decides_not_the_spelling(client: TestClient, variant: Variant, segment, n):
    response = client.get(f"/fib/{segment}")
    assert response.status_code == 200
    check_fib_body(response.json(), n, expected_implementation(variant), runtime_description())


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [case[1:] for case in bad_requests(DEFAULT_CAP)],
    ids=[case[0] for case in bad_requests(DEFAULT_CAP)],
)
def test_bad_input_is_refused_with_what_is_allowed(client: TestClient, path, status, body):
    response = client.get(path)
    assert (response.status_code, response.json()) == (status, body)


def test_fib_max_n_sets_the_cap(variant: Variant):
    with app_with(variant, fib_max_n=10) as client:
        assert client.get("/fib/10").json()["result"] == 55
        refused = client.get("/fib/11")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "n must be an integer from 0 to 10 (FIB_MAX_N); got 11"}


BUDGET_REFUSAL = re.compile(
    r"fib\((\d+)\) would take about (\S+) s here, over the budget of 0\.2 s per request "
    r"\(FIB_BUDGET_SECONDS\); n up to (\d+) fits"
)


def test_a_computation_over_the_budget_is_refused_before_it_starts(variant: Variant):
    with app_with(variant, fib_max_n=92, budget_seconds=0.2) as client:
        refused = client.get("/fib/92")
        assert refused.status_code == 400
        found = BUDGET_REFUSAL.fullmatch(refused.json()["detail"])
        assert found, refused.json()
        estimate, fits = float(found.group(2)), int(found.group(3))
        assert found.group(1) == "92"
        assert estimate > 1e6  # fib(92) is about 1.5e19 calls: years, on any implementation
        assert 10 <= fits < 92
        # What the message says fits is served. Serving it may teach the model a lower cost (a
        # JIT warms up), so the next refusal is judged against what the model says now.
        accepted = client.get(f"/fib/{fits}")
        assert accepted.status_code == 200
        assert accepted.json()["result"] == fib_reference(fits)
        fits_now = client.app.state.cost.largest_n_within(0.2, 92)
        assert fits_now >= fits
        assert client.get(f"/fib/{fits_now + 1}").status_code == 400
        assert client.get("/health").status_code == 200


def recording_app(variant: Variant, **options) -> tuple[TestClient, list[str]]:
    """A client of the variant's app whose hot path notes where each call ran: on the event loop
    (a loop is running in the calling thread) or in a worker thread (none is)."""
    module = app_module(variant)
    fib = module.fib_recursive
    places: list[str] = []

    def recording_fib(n: int) -> int:
        try:
            asyncio.get_running_loop()
            places.append("event loop")
        except RuntimeError:
            places.append("worker thread")
        return fib(n)

    app = create_app(
        recording_fib, module.IMPLEMENTATION, releases_gil=module.RELEASES_GIL, **options
    )
    return TestClient(app), places


def test_cheap_computations_run_on_the_event_loop_and_expensive_ones_in_a_thread(
    variant: Variant,
):
    client, places = recording_app(variant, inline_seconds=0.001)
    with client:
        cost: CostModel = client.app.state.cost
        limit = client.app.state.inline_seconds
        assert client.get("/fib/0").json()["result"] == 0
        cheapest = places[-1]
        # The largest n the worker's own cost model puts within the limit runs inline, the next
        # one in a thread (whatever that n is for this implementation).
        inline_n = cost.largest_n_within(limit, 92)
        assert client.get(f"/fib/{inline_n}").json()["result"] == fib_reference(inline_n)
        at_the_limit = places[-1]
        offloaded_n = cost.largest_n_within(limit, 92) + 1  # after what fib(inline_n) taught it
        assert client.get(f"/fib/{offloaded_n}").json()["result"] == fib_reference(offloaded_n)
        over_the_limit = places[-1]
    assert (cheapest, at_the_limit, over_the_limit) == ("event loop", "event loop", "worker thread")
    assert 10 <= inline_n <= 40, "1 ms holds more than fib(10) and less than fib(40) anywhere"


def test_code_that_releases_the_gil_hands_off_sooner_on_several_cores(variant: Variant):
    slots = available_cores() if app_module(variant).RELEASES_GIL else 1
    client, _ = recording_app(variant, inline_seconds=0.001)
    with client:
        assert client.app.state.inline_seconds == pytest.approx(0.001 / slots)


def test_an_inline_budget_of_zero_hands_every_computation_to_a_thread(variant: Variant):
    client, places = recording_app(variant, inline_seconds=0.0)
    with client:
        places.clear()  # the calibration at start-up
        assert [client.get(f"/fib/{n}").json()["result"] for n in (0, 1, 10)] == [0, 1, 55]
    assert places == ["worker thread"] * 3


def test_the_schema_says_what_the_contract_accepts(variant: Variant):
    with app_with(variant, fib_max_n=30) as client:
        operation = client.get("/openapi.json").json()["paths"]["/fib/{n}"]["get"]
    (parameter,) = operation["parameters"]
    assert parameter["in"] == "path" and parameter["required"] is True
    schema = parameter["schema"]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 0, 30)
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for status in ("400", "422"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == error


def test_recursive_calls_counts_the_calls_of_the_recursion():
    calls = 0

    def counted(n: int) -> int:
        nonlocal calls
        calls += 1
        return n if n < 2 else counted(n - 1) + counted(n - 2)

    for n in range(16):
        calls = 0
        counted(n)
        assert recursive_calls(n) == calls, n


def test_the_cost_model_keeps_the_fastest_cost_per_call():
    model = CostModel(seconds_per_call=1e-7)
    assert model.estimate_seconds(10) == pytest.approx(177e-7)
    model.observe(10, 177e-8)  # ten times faster than calibrated
    assert model.seconds_per_call == pytest.approx(1e-8)
    model.observe(10, 1.0)  # a slow run (a busy machine) does not raise the estimate
    assert model.seconds_per_call == pytest.approx(1e-8)
    assert model.largest_n_within(budget_seconds=177e-8, cap=92) == 10
    assert model.largest_n_within(budget_seconds=1e9, cap=40) == 40


def expected_status(segment: str, cap: int) -> set[int]:
    """The contract's answer, worked out independently of the app's parser."""
    if segment == "":
        return {404}
    if re.fullmatch(r"[+-]?[0-9]+", segment):
        digits = segment.lstrip("+-").lstrip("0") or "0"
        if len(digits) > 3:
            return {400}
        value = -int(digits) if segment.startswith("-") else int(digits)
        return {200} if 0 <= value <= cap else {400}
    return {404, 422}  # a "/" or a dot segment may change the route


def runs(draw_char: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A sign or nothing, a run of up to 6,000 of one character, then a few digits."""
    return st.builds(
        lambda sign, char, count, tail: sign + char * count + tail,
        st.sampled_from(["", "-", "+", "--"]),
        draw_char,
        st.integers(min_value=0, max_value=6000),
        st.text(alphabet="0123456789", max_size=3),
    )


SEGMENTS = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789+-", max_size=40),
    runs(st.sampled_from("09-+ a.")),
    st.text(alphabet="0123456789+-e. ", min_size=1000, max_size=6000),
)


@pytest.fixture(scope="module")
def fuzz_client(variant: Variant) -> Iterator[TestClient]:
    with app_with(variant, fib_max_n=FUZZ_CAP) as client:
        yield client


@settings(max_examples=250, deadline=None)
@given(segment=SEGMENTS)
def test_no_path_segment_gives_a_server_error(fuzz_client: TestClient, segment: str):
    response = fuzz_client.get("/fib/" + urllib.parse.quote(segment, safe=""))
    assert response.status_code in expected_status(segment, FUZZ_CAP), (segment, response.text)
    if response.status_code == 200:
        assert response.json()["result"] == fib_reference(response.json()["n"])
