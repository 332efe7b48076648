"""The scoring entry point the service calls: features, rules, model, decision."""

from __future__ import annotations

from .features import extract_features
from .model import logistic_score
from .rules import fired_rules

ENGINE_VERSION = "fraud-scoring-1.0"

# Scores from these thresholds up go to a human analyst, or are declined outright.
REVIEW_THRESHOLD = 0.5
DECLINE_THRESHOLD = 0.85

SCORE_DECIMALS = 6


def decide(score_value: float) -> str:
    if score_value >= DECLINE_THRESHOLD:
        return "decline"
    if score_value >= REVIEW_THRESHOLD:
        return "review"
    return "approve"


def score(transaction: dict, history: list[dict]) -> dict:
    """The answer for one validated transaction and the customer's history (at most 50 entries,
    none later than the transaction): its score, the decision and the rules that fired."""
    features = extract_features(transaction, history)
    fired = fired_rules(features)
    score_value = round(logistic_score(features, fired), SCORE_DECIMALS)
    rules = []
    for name, contribution in fired:
        rules.append({"name": name, "contribution": contribution})
    return {"score": score_value, "decision": decide(score_value), "rules": rules}
