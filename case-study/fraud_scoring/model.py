"""A small logistic model with fixed coefficients, shipped in the file as a trained model would be
exported: the score is the sigmoid of its linear term plus the fired rules' contributions."""

from __future__ import annotations

import math

# Log-odds of fraud for a transaction whose features are all zero.
INTERCEPT = -3.8

# One coefficient per feature the model reads; the features it does not name do not count.
COEFFICIENTS: dict[str, float] = {
    "amount_usd_log10": 0.45,
    "amount_zscore": 0.06,
    "count_1h": 0.12,
    "count_24h": 0.02,
    "distinct_countries_24h": 0.25,
    "country_share": -0.7,
    "category_share": -0.6,
    "channel_share": -0.3,
    "usual_hour_share": -0.5,
    "quiet_hours_run": 0.04,
    "recent_small_amounts": 0.3,
    "high_risk_category": 0.4,
    "high_risk_country": 0.4,
}

# exp() overflows a float beyond about 709; past ±40 the sigmoid is 0 or 1 to double precision.
MAX_LOG_ODDS = 40.0


def linear_term(features: dict[str, float]) -> float:
    total = INTERCEPT
    for name, coefficient in COEFFICIENTS.items():
        total += coefficient * features[name]
    return total


def sigmoid(log_odds: float) -> float:
    """1 / (1 + e^-x), with x clamped so that exp() cannot overflow."""
    clamped = max(-MAX_LOG_ODDS, min(MAX_LOG_ODDS, log_odds))
    return 1.0 / (1.0 + math.exp(-clamped))


def logistic_score(features: dict[str, float], fired: list[tuple[str, float]]) -> float:
    """The probability-like score in [0, 1]: the model's log-odds plus each fired rule's weight."""
    log_odds = linear_term(features)
    for _name, contribution in fired:
        log_odds += contribution
    return sigmoid(log_odds)
