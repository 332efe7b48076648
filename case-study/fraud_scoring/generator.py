"""Seeded, realistic scoring requests `{"transaction": {...}, "history": [...]}` from four kinds of
customer: everyday domestic customers, travellers, card-testing bursts and account takeovers.

The same seed gives the same requests under CPython and PyPy: one `random.Random(seed)`, only the
methods whose output no Python version changes (random, randrange, choice, uniform), amounts made
from whole cents, and tuples rather than sets wherever order matters.

    python -m fraud_scoring.generator --seed 1 --count 1000   # prints one JSON request per line
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Callable

from .reference_data import (
    HIGH_RISK_COUNTRIES,
    HIGH_RISK_MERCHANT_CATEGORIES,
    USD_PER_UNIT,
)

BASE_TIMESTAMP = 1_767_225_600  # 2026-01-01 00:00:00 UTC: fixed, so no request depends on the clock
HOUR = 3600
DAY = 24 * HOUR
SPAN_DAYS = 90  # the transactions scored fall within this many days from the base
MAX_HISTORY_DAYS = 45  # how far back a customer's history goes at most

# Where customers live: (country, currency, UTC offset in hours).
HOMES = (
    ("US", "USD", -5), ("US", "USD", -8), ("CA", "CAD", -5), ("BR", "BRL", -3),
    ("GB", "GBP", 0), ("DE", "EUR", 1), ("FR", "EUR", 1), ("ES", "EUR", 1),
    ("IT", "EUR", 1), ("CH", "CHF", 1), ("JP", "JPY", 9), ("AU", "AUD", 10),
)  # fmt: skip
# Where travellers go: (country, currency charged). Outside the rate table the charge is in USD.
DESTINATIONS = (
    ("US", "USD"), ("GB", "GBP"), ("FR", "EUR"), ("DE", "EUR"), ("ES", "EUR"),
    ("IT", "EUR"), ("PT", "EUR"), ("NL", "EUR"), ("CH", "CHF"), ("JP", "JPY"),
    ("AU", "AUD"), ("CA", "CAD"), ("MX", "USD"), ("TH", "USD"), ("BR", "BRL"),
)  # fmt: skip
# Merchant category codes: groceries, restaurants, fast food, fuel, drug stores, department
# stores, miscellaneous retail, transit, electronics, clothing, books, taxis, cosmetics, cinemas.
EVERYDAY_CATEGORIES = (
    "5411", "5812", "5814", "5541", "5912", "5311", "5999",
    "4111", "5732", "5691", "5942", "4121", "5977", "7832",
)  # fmt: skip
# Hotels, airlines, taxis, restaurants, car rental, transit.
TRAVEL_CATEGORIES = ("7011", "4511", "4121", "5812", "7512", "4111")
# Digital goods, games and media: where stolen card numbers are tried out.
PROBE_CATEGORIES = ("5815", "5816", "5818")
ATM_CATEGORY = "6011"
HIGH_RISK_CATEGORY_CODES = tuple(HIGH_RISK_MERCHANT_CATEGORIES)

Request = dict


def in_currency(usd: float, currency: str) -> float:
    """An amount in USD as the card's currency charges it: whole cents (whole yen), at least one."""
    local = usd / USD_PER_UNIT[currency]
    if currency == "JPY":
        return float(max(int(local), 1))
    return max(int(local * 100), 1) / 100


def pick_distinct(rng: random.Random, options: tuple[str, ...], count: int) -> list[str]:
    remaining = list(options)
    picked = []
    while remaining and len(picked) < count:
        choice = rng.choice(remaining)
        remaining.remove(choice)
        picked.append(choice)
    return picked


def new_customer(rng: random.Random) -> dict:
    country, currency, utc_offset = rng.choice(HOMES)
    return {
        "country": country,
        "currency": currency,
        "utc_offset": utc_offset,
        "categories": pick_distinct(rng, EVERYDAY_CATEGORIES, 3 + rng.randrange(4)),
        "typical_usd": rng.uniform(12.0, 90.0),
        "online_share": rng.choice((0.0, 0.05, 0.1, 0.2, 0.35)),
        "first_hour": 7 + rng.randrange(3),  # local time
        "last_hour": 19 + rng.randrange(4),
        "history_days": 10 + rng.randrange(MAX_HISTORY_DAYS - 9),
    }


def transaction(
    amount: float, currency: str, category: str, country: str, timestamp: int, channel: str
) -> dict:
    return {
        "amount": amount,
        "currency": currency,
        "merchant_category": category,
        "country": country,
        "timestamp": timestamp,
        "channel": channel,
    }


def day_of_transaction(rng: random.Random) -> int:
    """A UTC midnight within the span of the traffic."""
    return BASE_TIMESTAMP + rng.randrange(SPAN_DAYS) * DAY


def at_local_hour(rng: random.Random, customer: dict, day: int, local_hour: int) -> int:
    return day + (local_hour - customer["utc_offset"]) * HOUR + rng.randrange(HOUR)


def awake_time(rng: random.Random, customer: dict, day: int) -> int:
    """A moment of the day at which the customer usually pays."""
    local_hour = rng.randrange(customer["first_hour"], customer["last_hour"] + 1)
    return at_local_hour(rng, customer, day, local_hour)


def everyday_purchase(rng: random.Random, customer: dict, timestamp: int) -> dict:
    """What the customer buys on an ordinary day: a usual category, amount and channel at home."""
    country = customer["country"]
    currency = customer["currency"]
    if rng.random() < 0.04:  # a cash withdrawal: whole twenties (whole 5,000 yen)
        step = 5000 if currency == "JPY" else 20
        amount = float(step * (1 + rng.randrange(10)))
        return transaction(amount, currency, ATM_CATEGORY, country, timestamp, "atm")
    usd = customer["typical_usd"] * rng.uniform(0.3, 1.8)
    if rng.random() < 0.08:  # now and then something bigger
        usd *= rng.uniform(2.0, 5.0)
    if rng.random() < customer["online_share"]:
        channel = "online"
    else:
        channel = rng.choice(("card_present", "contactless", "contactless"))
    category = rng.choice(customer["categories"])
    return transaction(in_currency(usd, currency), currency, category, country, timestamp, channel)


def everyday_history(rng: random.Random, customer: dict, now: int, length: int) -> list[dict]:
    """`length` ordinary purchases spread over the customer's recent days, all before `now`."""
    today = now - now % DAY
    history = []
    for _ in range(length):
        day = today - rng.randrange(customer["history_days"]) * DAY
        timestamp = awake_time(rng, customer, day)
        while timestamp >= now:
            timestamp -= DAY
        history.append(everyday_purchase(rng, customer, timestamp))
    return history


def newest_first(history: list[dict]) -> list[dict]:
    return sorted(history, key=lambda entry: entry["timestamp"], reverse=True)


def normal_request(rng: random.Random, history_length: int) -> Request:
    """A domestic customer's purchase: mostly routine, sometimes new, bigger or late at night."""
    customer = new_customer(rng)
    day = day_of_transaction(rng)
    kind = rng.random()
    if kind < 0.02:  # shopping online in the small hours
        now = at_local_hour(rng, customer, day, 1 + rng.randrange(4))
    else:
        now = awake_time(rng, customer, day)
    history = everyday_history(rng, customer, now, history_length)
    purchase = everyday_purchase(rng, customer, now)
    if kind < 0.02:
        purchase["channel"] = "online"
    elif kind < 0.09:  # a category the customer has not used before
        others = [code for code in EVERYDAY_CATEGORIES if code not in customer["categories"]]
        purchase["merchant_category"] = rng.choice(others)
    elif kind < 0.13:  # a big purchase: a television, a sofa
        usd = customer["typical_usd"] * rng.uniform(4.0, 25.0)
        purchase["amount"] = in_currency(usd, customer["currency"])
        purchase["merchant_category"] = rng.choice(("5732", "5311", "5712"))
    return {"transaction": purchase, "history": newest_first(history)}


def traveller_request(rng: random.Random, history_length: int) -> Request:
    """A customer abroad: the older history at home, the last days in one to three countries."""
    customer = new_customer(rng)
    now = awake_time(rng, customer, day_of_transaction(rng))
    abroad = [place for place in DESTINATIONS if place[0] != customer["country"]]
    trip = []
    for _ in range(1 + rng.randrange(3)):
        place = rng.choice(abroad)
        abroad.remove(place)
        trip.append(place)
    trip_seconds = (2 + rng.randrange(10)) * DAY
    trip_length = int(history_length * rng.uniform(0.15, 0.4))
    history = everyday_history(rng, customer, now - trip_seconds, history_length - trip_length)
    leg_seconds = trip_seconds // len(trip)
    for index in range(trip_length):
        leg = index * len(trip) // trip_length
        country, currency = trip[leg]
        timestamp = now - trip_seconds + leg * leg_seconds + rng.randrange(leg_seconds)
        history.append(trip_purchase(rng, customer, country, currency, timestamp))
    if rng.random() < 0.75 or not abroad:  # still in the last country of the trip
        country, currency = trip[-1]
    else:  # just arrived somewhere new
        country, currency = rng.choice(abroad)
    purchase = trip_purchase(rng, customer, country, currency, now)
    return {"transaction": purchase, "history": newest_first(history)}


def trip_purchase(
    rng: random.Random, customer: dict, country: str, currency: str, timestamp: int
) -> dict:
    category = rng.choice(TRAVEL_CATEGORIES + tuple(customer["categories"]))
    usd = customer["typical_usd"] * rng.uniform(0.5, 3.0)
    if category in ("7011", "4511", "7512"):  # hotels, flights and cars cost more than lunch
        usd *= rng.uniform(3.0, 8.0)
    channel = "online" if rng.random() < 0.15 else rng.choice(("card_present", "contactless"))
    return transaction(in_currency(usd, currency), currency, category, country, timestamp, channel)


def card_testing_request(rng: random.Random, history_length: int) -> Request:
    """A stolen card number being tried: small online amounts within minutes, then a small probe
    more or the purchase the probes were for."""
    customer = new_customer(rng)
    now = awake_time(rng, customer, day_of_transaction(rng))
    probes = min(2 + rng.randrange(6), history_length)
    history = everyday_history(rng, customer, now - HOUR, history_length - probes)
    merchant_country, merchant_currency = rng.choice(DESTINATIONS)
    burst_start = now - 60 - rng.randrange(420)
    for index in range(probes):
        timestamp = burst_start + index * (now - burst_start) // (probes + 1)
        history.append(probe(rng, merchant_country, merchant_currency, timestamp))
    if rng.random() < 0.65:
        purchase = probe(rng, merchant_country, merchant_currency, now)
    else:
        usd = rng.uniform(150.0, 1200.0)
        amount = in_currency(usd, merchant_currency)
        category = rng.choice(("5732", "5999", "5945"))
        purchase = transaction(amount, merchant_currency, category, merchant_country, now, "online")
    return {"transaction": purchase, "history": newest_first(history)}


def probe(rng: random.Random, country: str, currency: str, timestamp: int) -> dict:
    amount = in_currency(rng.uniform(0.5, 4.5), currency)
    category = rng.choice(PROBE_CATEGORIES)
    return transaction(amount, currency, category, country, timestamp, "online")


def takeover_request(rng: random.Random, history_length: int) -> Request:
    """Someone else controls the account: a new country, a high-risk merchant, online, a large
    amount, often in the customer's night."""
    customer = new_customer(rng)
    customer["online_share"] = 0.0  # the victim pays in person; the takeover is online
    day = day_of_transaction(rng)
    if rng.random() < 0.6:
        now = at_local_hour(rng, customer, day, 1 + rng.randrange(4))
    else:
        now = awake_time(rng, customer, day)
    history = everyday_history(rng, customer, now, history_length)
    if rng.random() < 0.4:
        country = rng.choice(HIGH_RISK_COUNTRIES)
        currency = "USD"
    else:
        country, currency = rng.choice(
            [place for place in DESTINATIONS if place[0] != customer["country"]]
        )
    usd = rng.uniform(600.0, 6000.0)
    if rng.random() < 0.4:  # transfers and cash-outs come in whole hundreds
        amount = float(max(int(usd / USD_PER_UNIT[currency] / 100), 1) * 100)
    else:
        amount = in_currency(usd, currency)
    category = rng.choice(HIGH_RISK_CATEGORY_CODES)
    purchase = transaction(amount, currency, category, country, now, "online")
    return {"transaction": purchase, "history": newest_first(history)}


PROFILES: dict[str, Callable[[random.Random, int], Request]] = {
    "normal": normal_request,
    "traveller": traveller_request,
    "card_testing": card_testing_request,
    "account_takeover": takeover_request,
}
# The mix of the traffic: (profile, cumulative share), checked in this order.
TRAFFIC_MIX = (
    ("normal", 0.81), ("traveller", 0.965), ("card_testing", 0.985), ("account_takeover", 1.0),
)  # fmt: skip


def pick_profile(rng: random.Random) -> str:
    draw = rng.random()
    for profile, cumulative_share in TRAFFIC_MIX:
        if draw < cumulative_share:
            return profile
    return TRAFFIC_MIX[-1][0]


def generate_request(rng: random.Random, profile: str, history_length: int = 50) -> Request:
    """One request of the given profile, drawn from `rng`."""
    return PROFILES[profile](rng, history_length)


def generate_requests(seed: int, count: int, history_length: int = 50) -> list[Request]:
    """`count` requests of the traffic mix; the same seed always gives the same list."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        requests.append(generate_request(rng, pick_profile(rng), history_length))
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--history-length", type=int, default=50)
    args = parser.parse_args()
    for request in generate_requests(args.seed, args.count, args.history_length):
        print(json.dumps(request))


if __name__ == "__main__":
    main()
