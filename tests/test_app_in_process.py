"""The contract, in-process through TestClient, for each variant of the interpreter running pytest
(`make test` runs this file under CPython and under PyPy)."""

from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Iterator
from types import ModuleType

import pytest
from baseline_app import create_app, runtime_description
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import (
    EXPECTED_IMPLEMENTATION,
    expected_runtime_prefix,
    variants_of_this_interpreter,
)
from tests.contract import DEFAULT_CAP, EXACT_RANGE, bad_requests, check_fib_body
from variants import Variant

VARIANTS_HERE = variants_of_this_interpreter()


@pytest.fixture(scope="module", params=VARIANTS_HERE, ids=[v.name for v in VARIANTS_HERE])
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.param


def app_module(variant: Variant) -> ModuleType:
    return importlib.import_module(variant.app.split(":")[0])


@pytest.fixture(scope="module")
def client(variant: Variant) -> Iterator[TestClient]:
    with TestClient(app_module(variant).app) as client:  # `with` runs the lifespan
        yield client


def test_health_names_the_interpreter_and_the_hot_path(client: TestClient, variant: Variant):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "runtime": runtime_description(),
        "implementation": EXPECTED_IMPLEMENTATION[variant.app],
    }
    assert runtime_description().startswith(expected_runtime_prefix(variant))


@pytest.mark.parametrize("n", [*EXACT_RANGE, DEFAULT_CAP])
def test_fib_is_exact(client: TestClient, variant: Variant, n: int):
    response = client.get(f"/fib/{n}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    check_fib_body(response.json(), n, EXPECTED_IMPLEMENTATION[variant.app], runtime_description())


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [case[1:] for case in bad_requests(DEFAULT_CAP)],
    ids=[case[0] for case in bad_requests(DEFAULT_CAP)],
)
def test_bad_input_is_refused_with_what_is_allowed(client: TestClient, path, status, body):
    response = client.get(path)
    assert (response.status_code, response.json()) == (status, body)


def test_fib_max_n_sets_the_cap(variant: Variant):
    module = app_module(variant)
    app = create_app(module.fib_recursive, EXPECTED_IMPLEMENTATION[variant.app], fib_max_n=10)
    with TestClient(app) as client:
        assert client.get("/fib/10").json()["result"] == 55
        refused = client.get("/fib/11")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "n must be an integer from 0 to 10 (FIB_MAX_N); got 11"}


@settings(max_examples=150, deadline=None)
@given(segment=st.text(max_size=30))
def test_no_path_segment_gives_a_server_error(variant: Variant, segment: str):
    module = app_module(variant)
    app = create_app(module.fib_recursive, EXPECTED_IMPLEMENTATION[variant.app], fib_max_n=20)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/fib/" + urllib.parse.quote(segment, safe=""))
    assert response.status_code in (200, 400, 404, 422), (segment, response.text)
