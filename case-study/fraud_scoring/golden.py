"""The golden corpus: requests from each generator profile plus hand-built edge cases, stored with
the engine's answers in golden.json. Every rewrite of the engine (compiled, typed, run on PyPy)
must give these answers.

    python -m fraud_scoring.golden --check   # exits 1 and lists the differences
    python -m fraud_scoring.golden --write   # after a deliberate change of the engine
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from .engine import ENGINE_VERSION, score
from .generator import BASE_TIMESTAMP, DAY, HOUR, generate_request, transaction

GOLDEN_PATH = Path(__file__).with_name("golden.json")
GOLDEN_SEED = 20260101
SCORE_TOLERANCE = 1e-9

# (profile, how many requests, history length). Most histories are short to keep the file small;
# a few have the full 50 entries.
GENERATED_CASES = (
    ("normal", 8, 12),
    ("normal", 2, 50),
    ("traveller", 5, 20),
    ("traveller", 1, 50),
    ("card_testing", 5, 12),
    ("card_testing", 1, 50),
    ("account_takeover", 4, 12),
)

NOON = BASE_TIMESTAMP + 10 * DAY + 12 * HOUR  # when the hand-built transactions happen


def daily_history(count: int, amount: float, channel: str = "contactless") -> list[dict]:
    """`count` identical grocery purchases in Germany, one a day at 11:00 UTC, newest first."""
    history = []
    for days_back in range(1, count + 1):
        timestamp = NOON - days_back * DAY - HOUR
        history.append(transaction(amount, "EUR", "5411", "DE", timestamp, channel))
    return history


def varied_history(count: int) -> list[dict]:
    """`count` German purchases, two a day (11:xx and 16:xx UTC), with amounts and categories
    that vary, newest first."""
    categories = ("5411", "5812", "5541", "5912")
    history = []
    for index in range(count):
        amount = 10.0 + (index * 37 % 90) + (index % 4) / 4
        category = categories[index % len(categories)]
        day = NOON - (index // 2 + 1) * DAY
        timestamp = day - HOUR + (index % 2) * 5 * HOUR + index * 61
        history.append(transaction(amount, "EUR", category, "DE", timestamp, "card_present"))
    return history


def edge_cases() -> list[tuple[str, dict, list[dict]]]:
    """(name, transaction, history) for the corners the generator rarely reaches."""
    groceries = transaction(42.5, "EUR", "5411", "DE", NOON, "contactless")
    casino = transaction(2500.0, "USD", "7995", "US", NOON, "online")
    at_night = dict(groceries, channel="online", timestamp=NOON - 10 * HOUR)
    in_yen = transaction(150000000.0, "JPY", "5732", "JP", NOON, "online")
    probe = transaction(2.0, "USD", "5816", "US", NOON, "online")
    probes = [dict(probe, amount=1.0, timestamp=NOON - seconds) for seconds in (40, 90, 200)]
    lunch_in_tokyo = transaction(9000.0, "JPY", "5812", "JP", NOON, "card_present")
    dinner_in_paris = transaction(80.0, "EUR", "5812", "FR", NOON - 30 * 60, "card_present")
    atm_abroad = transaction(500.0, "USD", "6011", "IR", NOON, "atm")
    return [
        ("empty history", groceries, []),
        ("empty history, large online casino", casino, []),
        ("one-entry history", groceries, daily_history(1, 40.0)),
        (
            "zero-variance history, same amount",
            dict(groceries, amount=25.0),
            daily_history(10, 25.0),
        ),
        (
            "zero-variance history, ten times",
            dict(groceries, amount=250.0),
            daily_history(10, 25.0),
        ),
        ("50-entry history, routine", groceries, varied_history(50)),
        ("50-entry history, online at night", at_night, varied_history(50)),
        ("tiny amount", dict(groceries, amount=0.01), varied_history(10)),
        ("huge amount", dict(groceries, amount=9999999.99), varied_history(10)),
        ("huge amount in yen", in_yen, varied_history(10)),
        (
            "same second as the previous",
            groceries,
            [dict(groceries, amount=12.0), *varied_history(9)],
        ),
        ("card-testing burst", probe, probes + varied_history(9)),
        ("impossible travel", lunch_in_tokyo, [dinner_in_paris, *varied_history(9)]),
        ("round amount, ATM, high-risk country", atm_abroad, varied_history(20)),
    ]


def build_cases() -> list[dict]:
    """The corpus's requests, named, in a fixed order (the generated ones from GOLDEN_SEED)."""
    rng = random.Random(GOLDEN_SEED)
    cases = []
    for profile, count, history_length in GENERATED_CASES:
        for index in range(count):
            request = generate_request(rng, profile, history_length)
            name = f"{profile} {index + 1}, {history_length}-entry history"
            cases.append({"name": name, "request": request})
    for name, one_transaction, history in edge_cases():
        cases.append(
            {"name": name, "request": {"transaction": one_transaction, "history": history}}
        )
    return cases


def answer(request: dict) -> dict:
    return score(request["transaction"], request["history"])


def build_corpus() -> dict:
    cases = build_cases()
    for case in cases:
        case["expected"] = answer(case["request"])
    return {"engine_version": ENGINE_VERSION, "seed": GOLDEN_SEED, "cases": cases}


def load_corpus(path: Path = GOLDEN_PATH) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def answer_differences(name: str, expected: dict, actual: dict) -> list[str]:
    """What differs between a stored answer and the engine's, the score within SCORE_TOLERANCE."""
    differences = []
    if abs(expected["score"] - actual["score"]) > SCORE_TOLERANCE:
        differences.append(f"{name}: score {actual['score']}, expected {expected['score']}")
    if expected["decision"] != actual["decision"]:
        differences.append(
            f"{name}: decision {actual['decision']}, expected {expected['decision']}"
        )
    fired = [(rule["name"], rule["contribution"]) for rule in actual["rules"]]
    wanted = [(rule["name"], rule["contribution"]) for rule in expected["rules"]]
    if fired != wanted:
        differences.append(f"{name}: rules {fired}, expected {wanted}")
    return differences


def corpus_differences(corpus: dict) -> list[str]:
    """Everything in which this interpreter's generator and engine disagree with the corpus."""
    differences = []
    if corpus["engine_version"] != ENGINE_VERSION:
        differences.append(f"engine version {ENGINE_VERSION}, corpus {corpus['engine_version']}")
    stored = corpus["cases"]
    rebuilt = build_cases()
    if [case["name"] for case in stored] != [case["name"] for case in rebuilt]:
        differences.append("the corpus's cases are not the ones build_cases() makes")
    for stored_case, rebuilt_case in zip(stored, rebuilt):
        name = stored_case["name"]
        if stored_case["request"] != rebuilt_case["request"]:
            differences.append(f"{name}: the request is not the one the generator makes now")
        actual = answer(stored_case["request"])
        differences.extend(answer_differences(name, stored_case["expected"], actual))
    return differences


def write_corpus(path: Path = GOLDEN_PATH) -> None:
    path.write_text(json.dumps(build_corpus(), indent=1) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate golden.json")
    action.add_argument("--check", action="store_true", help="compare the engine with golden.json")
    args = parser.parse_args()
    if args.write:
        write_corpus()
        print(f"wrote {GOLDEN_PATH}")
        return 0
    differences = corpus_differences(load_corpus())
    for difference in differences:
        print(difference)
    cases = len(load_corpus()["cases"])
    print(
        f"{len(differences)} differences in {cases} cases"
        if differences
        else f"{cases} cases match"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
