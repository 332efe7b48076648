"""The case study's fraud-scoring engine (case-study/fraud_scoring): the golden corpus, the
generator's determinism, what each kind of customer gets, the edge cases, and the features on a
hand-computed example. Plain Python: the same file runs under CPython and under PyPy."""

from __future__ import annotations

import math
import random

import pytest

from fraud_scoring import golden
from fraud_scoring.engine import score
from fraud_scoring.features import MAX_ABS_ZSCORE, extract_features, quiet_hours_around, to_usd
from fraud_scoring.generator import (
    BASE_TIMESTAMP,
    DAY,
    HOUR,
    generate_request,
    generate_requests,
    transaction,
)
from fraud_scoring.reference_data import CHANNELS, USD_PER_UNIT

CORPUS = golden.load_corpus()
NOW = BASE_TIMESTAMP + 5 * DAY + 12 * HOUR


def rule_names(answer: dict) -> list[str]:
    return [rule["name"] for rule in answer["rules"]]


def score_request(request: dict) -> dict:
    return score(request["transaction"], request["history"])


def answers_for(profile: str, count: int = 200, seed: int = 11) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        request = generate_request(rng, profile, 50)
        pairs.append((request, score_request(request)))
    return pairs


def decision_shares(answers: list[dict]) -> dict[str, float]:
    shares = {"approve": 0.0, "review": 0.0, "decline": 0.0}
    for answer in answers:
        shares[answer["decision"]] += 1 / len(answers)
    return shares


# The golden corpus


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[case["name"] for case in CORPUS["cases"]])
def test_golden_case_gets_its_stored_answer(case: dict) -> None:
    actual = score_request(case["request"])
    expected = case["expected"]
    assert actual["decision"] == expected["decision"]
    assert rule_names(actual) == rule_names(expected)
    assert actual["rules"] == expected["rules"]
    assert abs(actual["score"] - expected["score"]) <= 1e-9


def test_golden_corpus_is_what_this_interpreter_generates_and_scores() -> None:
    # The generated requests are rebuilt here: under PyPy this checks that the generator draws the
    # same traffic as the CPython that wrote the file.
    assert golden.corpus_differences(CORPUS) == []


def test_golden_corpus_covers_every_decision_and_stays_small() -> None:
    decisions = [case["expected"]["decision"] for case in CORPUS["cases"]]
    assert set(decisions) == {"approve", "review", "decline"}
    assert 35 <= len(decisions) <= 50
    assert golden.GOLDEN_PATH.stat().st_size < 300_000


# The generator


def test_same_seed_gives_the_same_requests() -> None:
    assert generate_requests(5, 60) == generate_requests(5, 60)


def test_different_seeds_give_different_requests() -> None:
    assert generate_requests(5, 60) != generate_requests(6, 60)


def test_generated_requests_have_the_shape_the_engine_assumes() -> None:
    for request in generate_requests(3, 300):
        now = request["transaction"]["timestamp"]
        assert len(request["history"]) == 50
        for entry in [request["transaction"], *request["history"]]:
            assert isinstance(entry["amount"], float) and entry["amount"] > 0
            assert entry["currency"] in USD_PER_UNIT
            assert len(entry["merchant_category"]) == 4 and entry["merchant_category"].isdigit()
            assert len(entry["country"]) == 2 and entry["country"].isupper()
            assert isinstance(entry["timestamp"], int) and entry["timestamp"] <= now
            assert entry["channel"] in CHANNELS


def test_history_length_is_honoured() -> None:
    for request in generate_requests(4, 40, history_length=7):
        assert len(request["history"]) == 7


# What each kind of customer gets


def test_card_testing_bursts_fire_the_card_testing_rules() -> None:
    answers = answers_for("card_testing")
    for request, answer in answers:
        purchase = request["transaction"]
        if to_usd(purchase["amount"], purchase["currency"]) < 5.0:
            assert "card_testing_pattern" in rule_names(answer)
        else:
            assert "purchase_after_probes" in rule_names(answer)
    assert decision_shares([answer for _, answer in answers])["approve"] < 0.05


def test_account_takeovers_are_declined() -> None:
    for _, answer in answers_for("account_takeover"):
        assert answer["decision"] == "decline"
        assert "takeover_signature" in rule_names(answer)


def test_normal_customers_and_travellers_are_mostly_approved() -> None:
    assert decision_shares([answer for _, answer in answers_for("normal")])["approve"] > 0.9
    assert decision_shares([answer for _, answer in answers_for("traveller")])["approve"] > 0.75


def routine_history() -> list[dict]:
    """Twenty German purchases, one a day at 11:xx or 12:xx UTC, groceries and restaurants."""
    history = []
    for index in range(20):
        category = "5411" if index % 3 else "5812"
        timestamp = NOW - (index + 1) * DAY - HOUR + index * 97
        amount = 20.0 + index % 7 * 5
        history.append(transaction(amount, "EUR", category, "DE", timestamp, "contactless"))
    return history


def test_a_normal_customers_typical_purchase_is_approved() -> None:
    groceries = transaction(35.0, "EUR", "5411", "DE", NOW, "contactless")
    answer = score(groceries, routine_history())
    assert answer["decision"] == "approve"
    assert rule_names(answer) == ["routine_purchase", "familiar_category"]


def test_the_same_customer_wiring_money_abroad_at_night_is_declined() -> None:
    wire = transaction(3000.0, "USD", "4829", "IR", NOW - 9 * HOUR, "online")
    answer = score(
        wire, [entry for entry in routine_history() if entry["timestamp"] <= wire["timestamp"]]
    )
    assert answer["decision"] == "decline"
    assert {"takeover_signature", "customer_night", "high_risk_country"} <= set(rule_names(answer))


# Edge cases


def test_empty_history_gives_a_finite_score() -> None:
    answer = score(transaction(42.5, "EUR", "5411", "DE", NOW, "contactless"), [])
    assert math.isfinite(answer["score"]) and 0.0 < answer["score"] < 1.0
    assert rule_names(answer) == ["no_history"]


def test_zero_variance_history_divides_by_the_floor_not_by_zero() -> None:
    history = [
        transaction(25.0, "EUR", "5411", "DE", NOW - days * DAY, "contactless")
        for days in (1, 2, 3)
    ]
    same = extract_features(transaction(25.0, "EUR", "5411", "DE", NOW, "contactless"), history)
    assert same["history_std_usd"] == 0.0
    assert same["amount_zscore"] == 0.0
    ten_times = transaction(250.0, "EUR", "5411", "DE", NOW, "contactless")
    assert extract_features(ten_times, history)["amount_zscore"] == MAX_ABS_ZSCORE
    assert score(ten_times, history)["decision"] in ("approve", "review", "decline")


def test_extreme_amounts_saturate_without_overflow() -> None:
    history = routine_history()
    huge = score(transaction(1e300, "GBP", "5411", "DE", NOW, "contactless"), history)
    tiny = score(transaction(0.01, "EUR", "5411", "DE", NOW, "contactless"), history)
    assert huge["score"] == 1.0 and huge["decision"] == "decline"
    assert 0.0 < tiny["score"] < 0.5 and tiny["decision"] == "approve"


def test_answer_has_exactly_the_contract_keys() -> None:
    answer = score(transaction(35.0, "EUR", "5411", "DE", NOW, "contactless"), routine_history())
    assert list(answer) == ["score", "decision", "rules"]
    assert answer["score"] == round(answer["score"], 6)
    for rule in answer["rules"]:
        assert list(rule) == ["name", "contribution"] and isinstance(rule["contribution"], float)


# Features, against values worked out by hand


def test_velocity_and_zscore_on_a_hand_computed_example() -> None:
    history = [
        transaction(10.0, "USD", "5411", "US", NOW - 10 * 60, "contactless"),
        transaction(100.0, "EUR", "5411", "FR", NOW - 50 * 60, "card_present"),  # 108 USD
        transaction(20.0, "USD", "5812", "US", NOW - 90 * 60, "card_present"),
        transaction(30.0, "USD", "5411", "US", NOW - 30 * HOUR, "card_present"),  # over a day ago
    ]
    features = extract_features(transaction(100.0, "USD", "5411", "US", NOW, "online"), history)
    assert features["count_1h"] == 2.0
    assert features["amount_usd_1h"] == pytest.approx(118.0)
    assert features["count_24h"] == 3.0
    assert features["amount_usd_24h"] == pytest.approx(138.0)
    assert features["distinct_countries_24h"] == 2.0
    # Mean (10 + 108 + 20 + 30) / 4 = 42; squared deviations 1024 + 4356 + 484 + 144 = 6008.
    assert features["history_mean_usd"] == pytest.approx(42.0)
    assert features["amount_zscore"] == pytest.approx((100.0 - 42.0) / math.sqrt(6008 / 4))
    assert features["country_share"] == 0.75 and features["category_share"] == 0.75
    assert features["new_country"] == 0.0 and features["seconds_since_previous"] == 600.0
    assert features["channel_change"] == 0.0  # four entries are too few to know a habit


def test_card_testing_counts_small_amounts_within_ten_minutes() -> None:
    probes = [
        transaction(1.0, "USD", "5816", "US", NOW - seconds, "online") for seconds in (30, 300, 900)
    ]
    features = extract_features(transaction(2.0, "USD", "5816", "US", NOW, "online"), probes)
    assert features["recent_small_amounts"] == 2.0  # the one 15 minutes ago is out of the window
    assert features["card_testing"] == 1.0
    assert features["seconds_since_previous"] == 30.0


def test_quiet_hours_around_an_hour() -> None:
    per_hour = [0] * 24
    for hour in range(8, 22):
        per_hour[hour] = 1
    assert quiet_hours_around(per_hour, 3) == 10  # 22:00 to 07:59
    assert quiet_hours_around(per_hour, 12) == 0
    assert quiet_hours_around([0] * 24, 5) == 24


# The traffic mix


def test_generated_traffic_has_plausible_decision_shares() -> None:
    shares = decision_shares([score_request(request) for request in generate_requests(2, 2000)])
    assert shares["approve"] > 0.85
    assert 0.01 < shares["review"] < 0.12
    assert 0.01 < shares["decline"] < 0.08
