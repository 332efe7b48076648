"""features.py with Cython types: the same code line for line, plus pure-Python-mode declarations
on the loops and the arithmetic, so `diff features.py features_typed.py` is the whole tutorial step.

Uncompiled (on PyPy, in the tests) `import cython` is Cython's shadow module, every declaration is a
no-op and this is ordinary Python with the same answers. Compiled (case-study/build_engines.py
installs it as the features module of fraud_scoring_cython_typed) the declared variables are C
variables and the helpers C functions. Cython already reads `float`, `list` and `dict` annotations
of arguments, so features.py compiled as it is gains too; what it cannot guess is that the counts
and timestamps are machine integers, which is most of what is declared here."""

from __future__ import annotations

import math

import cython

from .reference_data import (
    HIGH_RISK_COUNTRIES,
    HIGH_RISK_MERCHANT_CATEGORIES,
    IN_PERSON_CHANNELS,
    USD_PER_UNIT,
)

# True where Cython compiled this file; the shadow module says False (uncompiled, and under mypyc).
CYTHON_COMPILED = cython.compiled

# The constants the loops compare with are C constants: a Python global would turn every comparison
# back into Python arithmetic. Compiled, they are no longer attributes of the module.
HOUR = cython.declare(cython.longlong, 3600)
DAY = cython.declare(cython.longlong, 24 * HOUR)

# Fewer past transactions than this say nothing about a customer's habits.
MIN_HISTORY_FOR_HABITS = 5
MIN_HISTORY_FOR_NIGHT = 10

# A customer who always pays the same amount has no spread: the floor keeps the z-score finite
# and stops a one-cent difference from looking like a hundred standard deviations.
MIN_SPREAD_USD = 1.0
MIN_SPREAD_SHARE_OF_MEAN = 0.1
MAX_ABS_ZSCORE = 20.0

# Card testing: stolen numbers are probed with amounts the cardholder will not notice, in minutes.
SMALL_AMOUNT_USD = cython.declare(cython.double, 5.0)
CARD_TESTING_WINDOW = cython.declare(cython.longlong, 10 * 60)
CARD_TESTING_MIN_PROBES = 3

# Nobody pays in person in two countries within this time of each other.
FAST_TRAVEL_WINDOW = 2 * HOUR
# A run of hours this long in which the customer never paid is their night, whatever their timezone.
NIGHT_MIN_QUIET_HOURS = 6
# What "seconds since the previous transaction" says when there is no previous transaction.
NO_PREVIOUS_GAP = 90 * DAY
# Online after a history that is at least this share in person is a change of channel.
MOSTLY_IN_PERSON_SHARE = 0.8


@cython.ccall
def to_usd(amount: cython.double, currency: str) -> cython.double:
    return amount * USD_PER_UNIT[currency]


@cython.ccall
def hour_of_day(timestamp: cython.longlong) -> cython.int:
    """The hour (0-23) in UTC: the engine knows no timezones, it compares with the customer's."""
    return (timestamp % DAY) // HOUR


def is_round_amount(amount: float) -> bool:
    """Whole hundreds in the card's currency (100.00, 2500.00), as cash-outs and transfers are."""
    cents = round(amount * 100)
    return cents >= 10000 and cents % 10000 == 0


@cython.ccall
def share(part: cython.Py_ssize_t, whole: cython.Py_ssize_t) -> cython.double:
    return part / whole if whole else 0.0


def extract_features(transaction: dict, history: list[dict]) -> dict[str, float]:
    """All the features of one transaction, by name; flags are 1.0 or 0.0."""
    amount_usd = to_usd(transaction["amount"], transaction["currency"])
    features: dict[str, float] = {
        "amount_usd": amount_usd,
        "amount_usd_log10": math.log10(1.0 + amount_usd),
        "round_amount": 1.0 if is_round_amount(transaction["amount"]) else 0.0,
        "history_count": float(len(history)),
    }
    add_amount_features(features, amount_usd, history)
    add_velocity_features(features, transaction, history)
    add_familiarity_features(features, transaction, history)
    add_time_of_day_features(features, transaction, history)
    add_card_testing_features(features, transaction, amount_usd, history)
    add_recency_features(features, transaction, history)
    return features


def add_amount_features(features: dict[str, float], amount_usd: float, history: list[dict]) -> None:
    """How this amount compares with what the customer usually spends."""
    count: cython.Py_ssize_t = len(history)
    total: cython.double = 0.0
    largest: cython.double = 0.0
    past_usd: cython.double
    for past in history:
        past_usd = to_usd(past["amount"], past["currency"])
        total += past_usd
        if past_usd > largest:
            largest = past_usd
    mean: cython.double = total / count if count else 0.0
    squares: cython.double = 0.0
    deviation: cython.double
    for past in history:
        deviation = to_usd(past["amount"], past["currency"]) - mean
        squares += deviation * deviation
    spread: cython.double = math.sqrt(squares / count) if count else 0.0
    features["history_mean_usd"] = mean
    features["history_std_usd"] = spread
    features["amount_zscore"] = amount_zscore(amount_usd, mean, spread, count)
    features["amount_to_max_ratio"] = amount_usd / largest if largest > 0.0 else 0.0


@cython.ccall
def amount_zscore(
    amount_usd: cython.double, mean: cython.double, spread: cython.double, count: cython.Py_ssize_t
) -> cython.double:
    """Standard deviations above the customer's mean, within ±MAX_ABS_ZSCORE; 0 without history."""
    if count < 2:
        return 0.0
    floor = max(MIN_SPREAD_USD, MIN_SPREAD_SHARE_OF_MEAN * mean)
    zscore = (amount_usd - mean) / max(spread, floor)
    return max(-MAX_ABS_ZSCORE, min(MAX_ABS_ZSCORE, zscore))


def add_velocity_features(
    features: dict[str, float], transaction: dict, history: list[dict]
) -> None:
    """How much the card was used in the hour and the day before this transaction."""
    now: cython.longlong = transaction["timestamp"]
    count_1h: cython.int = 0
    count_24h: cython.int = 0
    usd_1h: cython.double = 0.0
    usd_24h: cython.double = 0.0
    # A dict item is a Python object: converted to a C integer first, the subtraction is C's.
    # 64 bits, because Unix time outgrows a C int (2**31 - 1 seconds) in January 2038.
    timestamp: cython.longlong
    age: cython.longlong
    past_usd: cython.double
    countries_24h = [transaction["country"]]
    for past in history:
        timestamp = past["timestamp"]
        age = now - timestamp
        if age < 0 or age >= DAY:
            continue
        past_usd = to_usd(past["amount"], past["currency"])
        count_24h += 1
        usd_24h += past_usd
        if age < HOUR:
            count_1h += 1
            usd_1h += past_usd
        if past["country"] not in countries_24h:
            countries_24h.append(past["country"])
    features["count_1h"] = float(count_1h)
    features["amount_usd_1h"] = usd_1h
    features["count_24h"] = float(count_24h)
    features["amount_usd_24h"] = usd_24h
    features["distinct_countries_24h"] = float(len(countries_24h))


def add_familiarity_features(
    features: dict[str, float], transaction: dict, history: list[dict]
) -> None:
    """How far this transaction is from the customer's usual countries, categories and channels."""
    count: cython.Py_ssize_t = len(history)
    same_country: cython.Py_ssize_t = 0
    same_category: cython.Py_ssize_t = 0
    same_channel: cython.Py_ssize_t = 0
    in_person: cython.Py_ssize_t = 0
    currency_counts: dict[str, int] = {}
    for past in history:
        if past["country"] == transaction["country"]:
            same_country += 1
        if past["merchant_category"] == transaction["merchant_category"]:
            same_category += 1
        if past["channel"] == transaction["channel"]:
            same_channel += 1
        if past["channel"] in IN_PERSON_CHANNELS:
            in_person += 1
        currency_counts[past["currency"]] = currency_counts.get(past["currency"], 0) + 1
    in_person_share: cython.double = share(in_person, count)
    mostly_in_person = count >= MIN_HISTORY_FOR_HABITS and in_person_share >= MOSTLY_IN_PERSON_SHARE
    features["country_share"] = share(same_country, count)
    features["category_share"] = share(same_category, count)
    features["channel_share"] = share(same_channel, count)
    features["in_person_share"] = in_person_share
    features["new_country"] = 1.0 if count and same_country == 0 else 0.0
    features["new_category"] = 1.0 if count and same_category == 0 else 0.0
    features["high_risk_country"] = 1.0 if transaction["country"] in HIGH_RISK_COUNTRIES else 0.0
    high_risk_category = transaction["merchant_category"] in HIGH_RISK_MERCHANT_CATEGORIES
    features["high_risk_category"] = 1.0 if high_risk_category else 0.0
    is_online = transaction["channel"] == "online"
    features["channel_change"] = 1.0 if is_online and mostly_in_person else 0.0
    usual_currency = most_used(currency_counts)
    foreign = count and transaction["currency"] != usual_currency
    features["foreign_currency"] = 1.0 if foreign else 0.0


def most_used(counts: dict[str, int]) -> str:
    """The key with the highest count; on a tie the one seen first (dicts keep insertion order)."""
    best = ""
    best_count = 0
    for key, key_count in counts.items():
        if key_count > best_count:
            best = key
            best_count = key_count
    return best


def add_time_of_day_features(
    features: dict[str, float], transaction: dict, history: list[dict]
) -> None:
    """Whether the customer pays at this hour, and whether it falls in their night."""
    count: cython.Py_ssize_t = len(history)
    hour: cython.int = hour_of_day(transaction["timestamp"])
    per_hour = [0] * 24
    for past in history:
        per_hour[hour_of_day(past["timestamp"])] += 1
    around = per_hour[(hour - 1) % 24] + per_hour[hour] + per_hour[(hour + 1) % 24]
    quiet: cython.int = quiet_hours_around(per_hour, hour)
    features["hour_of_day"] = float(hour)
    features["usual_hour_share"] = share(around, count)
    features["quiet_hours_run"] = float(quiet)
    # A sparse history has gaps by chance: the night is a long quiet run with nothing close by.
    in_night = count >= MIN_HISTORY_FOR_NIGHT and quiet >= NIGHT_MIN_QUIET_HOURS and around == 0
    features["customer_night"] = 1.0 if in_night else 0.0


@cython.ccall
def quiet_hours_around(per_hour: list[int], hour: cython.int) -> cython.int:
    """The length of the run of hours around `hour` (itself included) in which the customer never
    paid; 0 if they have paid at this hour before, 24 if they never paid at all."""
    if per_hour[hour]:
        return 0
    run: cython.int = 1
    step: cython.int = 1
    while run < 24 and per_hour[(hour - step) % 24] == 0:
        run += 1
        step += 1
    step = 1
    while run < 24 and per_hour[(hour + step) % 24] == 0:
        run += 1
        step += 1
    return run


def add_card_testing_features(
    features: dict[str, float], transaction: dict, amount_usd: float, history: list[dict]
) -> None:
    """Small amounts within minutes: someone checking which stolen card numbers still work."""
    now: cython.longlong = transaction["timestamp"]
    recent_small: cython.int = 0
    timestamp: cython.longlong
    age: cython.longlong
    for past in history:
        timestamp = past["timestamp"]
        age = now - timestamp
        if (
            0 <= age < CARD_TESTING_WINDOW
            and to_usd(past["amount"], past["currency"]) < SMALL_AMOUNT_USD
        ):
            recent_small += 1
    probes: cython.int = recent_small + (1 if amount_usd < SMALL_AMOUNT_USD else 0)
    features["recent_small_amounts"] = float(recent_small)
    features["card_testing"] = 1.0 if probes >= CARD_TESTING_MIN_PROBES else 0.0


def add_recency_features(
    features: dict[str, float], transaction: dict, history: list[dict]
) -> None:
    """The gap since the previous transaction, and whether the card travelled impossibly fast."""
    previous = None
    for past in history:
        if previous is None or past["timestamp"] > previous["timestamp"]:
            previous = past
    if previous is None:
        features["seconds_since_previous"] = float(NO_PREVIOUS_GAP)
        features["impossible_travel"] = 0.0
        return
    gap = transaction["timestamp"] - previous["timestamp"]
    both_in_person = (
        previous["channel"] in IN_PERSON_CHANNELS and transaction["channel"] in IN_PERSON_CHANNELS
    )
    moved = previous["country"] != transaction["country"]
    features["seconds_since_previous"] = float(gap)
    features["impossible_travel"] = (
        1.0 if moved and both_in_person and gap < FAST_TRAVEL_WINDOW else 0.0
    )
