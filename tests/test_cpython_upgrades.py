"""The baseline on newer CPythons (variants.UPGRADE_VARIANTS: the same app and pins in
.venv/cpython3.12 and .venv/cpython3.13, which `make other-cpythons` creates where those
interpreters are installed) serves the contract over real HTTP. An interpreter that is not
installed is skipped, with the command that would add it."""

from __future__ import annotations

import pytest

from benchmarks.servers import running_server
from contract_check import fetch, verify
from variants import UPGRADE_VARIANTS, Variant


@pytest.fixture(params=UPGRADE_VARIANTS, ids=lambda variant: variant.name)
def upgrade(request: pytest.FixtureRequest) -> Variant:
    variant = request.param
    if not variant.installed:
        pytest.skip(f"{variant.interpreter} is not installed here (make other-cpythons)")
    return variant


def test_the_baseline_on_a_newer_cpython_serves_the_contract(upgrade: Variant):
    with running_server(upgrade, workers=1) as server:
        health = fetch(server.base_url, "/health").body
        version = upgrade.interpreter.removeprefix("cpython")
        assert health["runtime"].startswith(f"CPython {version}.")
        assert health["implementation"] == "python-recursive"
        answer = fetch(server.base_url, "/fib/25")
        assert (answer.status, answer.body["result"]) == (200, 75025)
        verification = verify(server.base_url, 35)
        assert verification["passed"], verification


def test_each_newer_cpython_is_a_row_of_the_baseline():
    assert [v.name for v in UPGRADE_VARIANTS] == ["baseline-cpython3.12", "baseline-cpython3.13"]
    assert {v.app for v in UPGRADE_VARIANTS} == {"baseline.baseline_app:app"}
    assert [v.default_port for v in UPGRADE_VARIANTS] == [8020, 8021]
