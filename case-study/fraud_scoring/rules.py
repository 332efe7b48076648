"""The fraud team's rules, as a table: each reads the features and, when it fires, adds its weight
(in log-odds, like the model's terms) to the score. Negative weights are the reassuring signs."""

from __future__ import annotations

from typing import Callable, NamedTuple

Features = dict[str, float]


class Rule(NamedTuple):
    name: str
    applies: Callable[[Features], bool]
    weight: float
    description: str


def habits_known(features: Features) -> bool:
    """Enough history to say what is unusual for this customer."""
    return features["history_count"] >= 5


RULES: list[Rule] = [
    # Amount
    Rule(
        "very_large_amount",
        lambda f: f["amount_usd"] >= 5000.0,
        1.6,
        "At least 5,000 USD in one transaction",
    ),
    Rule(
        "large_amount",
        lambda f: 1000.0 <= f["amount_usd"] < 5000.0,
        0.8,
        "Between 1,000 and 5,000 USD",
    ),
    Rule(
        "amount_far_above_usual",
        lambda f: f["amount_zscore"] >= 6.0,
        1.6,
        "Six or more standard deviations above the customer's mean",
    ),
    Rule(
        "amount_above_usual",
        lambda f: 3.0 <= f["amount_zscore"] < 6.0,
        0.8,
        "Three to six standard deviations above the customer's mean",
    ),
    Rule(
        "beyond_largest_before",
        lambda f: habits_known(f) and f["amount_to_max_ratio"] >= 2.0,
        0.9,
        "Twice the largest amount in the history or more",
    ),
    Rule(
        "round_large_amount",
        lambda f: f["round_amount"] == 1.0 and f["amount_usd"] >= 500.0,
        0.5,
        "Whole hundreds, 500 USD or more",
    ),
    # Velocity
    Rule(
        "burst_in_last_hour",
        lambda f: f["count_1h"] >= 5.0,
        1.0,
        "Five or more transactions in the hour before",
    ),
    Rule(
        "busy_day",
        lambda f: f["count_24h"] >= 15.0,
        0.6,
        "Fifteen or more transactions in the day before",
    ),
    Rule(
        "high_spend_last_hour",
        lambda f: f["amount_usd_1h"] + f["amount_usd"] >= 2000.0,
        0.8,
        "2,000 USD or more within an hour, this transaction included",
    ),
    Rule(
        "high_spend_last_day",
        lambda f: f["amount_usd_24h"] + f["amount_usd"] >= 5000.0,
        0.6,
        "5,000 USD or more within a day, this transaction included",
    ),
    Rule(
        "rapid_succession",
        lambda f: f["history_count"] > 0.0 and f["seconds_since_previous"] < 60.0,
        0.5,
        "Less than a minute after the previous transaction",
    ),
    Rule(
        "dormant_card",
        lambda f: habits_known(f) and f["seconds_since_previous"] >= 30 * 86400.0,
        0.5,
        "First use in thirty days or more",
    ),
    # Card testing
    Rule(
        "card_testing_pattern",
        lambda f: f["card_testing"] == 1.0,
        2.0,
        "Three or more amounts under 5 USD within ten minutes",
    ),
    Rule(
        "purchase_after_probes",
        lambda f: f["recent_small_amounts"] >= 2.0 and f["amount_usd"] >= 100.0,
        1.8,
        "100 USD or more right after small probing amounts",
    ),
    # Geography
    Rule(
        "first_time_country",
        lambda f: f["new_country"] == 1.0,
        1.2,
        "A country the customer never paid in before",
    ),
    Rule(
        "rare_country",
        lambda f: 0.0 < f["country_share"] < 0.1,
        0.3,
        "A country of less than a tenth of the history",
    ),
    Rule(
        "high_risk_country",
        lambda f: f["high_risk_country"] == 1.0,
        1.3,
        "A country on the high-risk list",
    ),
    Rule(
        "impossible_travel",
        lambda f: f["impossible_travel"] == 1.0,
        1.4,
        "In person in another country than the previous in-person payment, within two hours",
    ),
    Rule(
        "many_countries_today",
        lambda f: f["distinct_countries_24h"] >= 3.0,
        0.9,
        "Three or more countries within a day",
    ),
    Rule(
        "foreign_currency",
        lambda f: f["foreign_currency"] == 1.0,
        0.3,
        "Not the currency the customer usually pays in",
    ),
    # Merchant
    Rule(
        "first_time_category",
        lambda f: f["new_category"] == 1.0,
        0.4,
        "A merchant category the customer never used before",
    ),
    Rule(
        "high_risk_category",
        lambda f: f["high_risk_category"] == 1.0,
        0.9,
        "A merchant category on the high-risk list",
    ),
    Rule(
        "new_high_risk_category",
        lambda f: f["high_risk_category"] == 1.0 and f["new_category"] == 1.0,
        0.8,
        "A high-risk category the customer never used before",
    ),
    # Time and channel
    Rule(
        "customer_night",
        lambda f: f["customer_night"] == 1.0,
        1.2,
        "In a run of six or more hours in which the customer never paid",
    ),
    Rule(
        "unusual_hour",
        lambda f: f["history_count"] >= 10.0 and f["usual_hour_share"] == 0.0,
        0.4,
        "No payment in the history within an hour of this time of day",
    ),
    Rule(
        "channel_change_to_online",
        lambda f: f["channel_change"] == 1.0,
        1.1,
        "Online, when the history is mostly in person",
    ),
    # Combinations the fraud team has seen together
    Rule(
        "takeover_signature",
        lambda f: (
            f["new_country"] == 1.0
            and f["channel_change"] == 1.0
            and f["high_risk_category"] == 1.0
        ),
        1.2,
        "New country, change to online and a high-risk category at once",
    ),
    Rule(
        "no_history",
        lambda f: f["history_count"] == 0.0,
        0.7,
        "The card's first transaction",
    ),
    Rule(
        "thin_history",
        lambda f: 0.0 < f["history_count"] < 5.0,
        0.3,
        "Fewer than five transactions in the history",
    ),
    # Reassuring signs
    Rule(
        "routine_purchase",
        lambda f: (
            f["country_share"] >= 0.8
            and f["category_share"] >= 0.15
            and f["amount_zscore"] < 2.0
            and f["channel_share"] >= 0.5
        ),
        -0.8,
        "Home country, a usual category, a usual amount and a usual channel",
    ),
    Rule(
        "familiar_category",
        lambda f: f["category_share"] >= 0.3,
        -0.3,
        "A category of at least three tenths of the history",
    ),
]


def fired_rules(features: Features) -> list[tuple[str, float]]:
    """The (name, weight) of each rule that applies, in table order."""
    fired = []
    for rule in RULES:
        if rule.applies(features):
            fired.append((rule.name, rule.weight))
    return fired
