"""The scoring service's request rules, and a check of them in plain Python over the parsed JSON.

The rules and the words of every refusal live here once: scoring_app.py's pydantic model states the
same rules and turns its errors into these same messages, so both ways of validating answer a bad
request with the same status and, for the same fault, the same detail. The check below needs no
compiled extension: on PyPy, pydantic-core runs through cpyext, which can cost more per request
than the JIT saves, while these loops are JIT-compiled like the engine itself.

A check stops at the first fault, in the order pydantic reports them: the transaction's fields in
their order, then the history's length and entries, then unknown fields, and last the timestamps.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Union

from baseline.fib_settings import shorten
from fraud_scoring.reference_data import CHANNELS, USD_PER_UNIT

# 64 KiB: a request with the full 50-entry history takes a few kilobytes, so this leaves room for
# any spelling of a valid one (indented, say) while no client can make a worker hold megabytes.
MAX_BODY_BYTES = 64 * 1024
MAX_HISTORY = 50
# A billion units of the card's currency: more than any card payment, in yen too (the golden
# corpus pays 150 million yen), yet far from where a float loses its cents.
MAX_AMOUNT = 1_000_000_000
# 2000-01-01 and 2100-01-01 (UTC) in Unix seconds: a timestamp outside is a unit mistake
# (milliseconds) or a placeholder, not a card payment.
MIN_TIMESTAMP = 946_684_800
MAX_TIMESTAMP = 4_102_444_800

REQUEST_FIELDS = ("transaction", "history")
TRANSACTION_FIELDS = ("amount", "currency", "merchant_category", "country", "timestamp", "channel")
CURRENCIES = tuple(USD_PER_UNIT)

# What each field allows, in the words of every refusal.
ALLOWED: dict[str, str] = {
    "transaction": "an object with the fields " + ", ".join(TRANSACTION_FIELDS),
    # Newest first is the convention, not a rule: the engine's answer does not depend on the order.
    "history": f"a list of at most {MAX_HISTORY} transactions",
    "amount": f"a finite number greater than 0 and at most {MAX_AMOUNT}",
    "currency": "one of " + ", ".join(CURRENCIES),
    "merchant_category": 'a string of 4 digits (an ISO 18245 code such as "5411")',
    "country": 'a string of 2 capital letters (an ISO 3166 code such as "DE")',
    "timestamp": f"a whole number of Unix seconds from {MIN_TIMESTAMP} to {MAX_TIMESTAMP}",
    "channel": "one of " + ", ".join(CHANNELS),
}
BODY_ALLOWED = "a JSON object with the fields " + ", ".join(REQUEST_FIELDS)
NOT_JSON = f"the body must be {BODY_ALLOWED}; it is not valid JSON"

# Where a fault is: ("history", 3, "amount") is history[3].amount; () is the body itself.
Location = tuple[Union[str, int], ...]


class RequestError(ValueError):
    """A request the service refuses (422); the message names the field and what it allows."""


# The words of each refusal, shared with the pydantic way


def path_of(location: Location) -> str:
    if not location:
        return "the body"
    path = str(location[0])
    for part in location[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def allowed_at(location: Location) -> str:
    if not location:
        return BODY_ALLOWED
    last = location[-1]
    return ALLOWED["transaction"] if isinstance(last, int) else ALLOWED[str(last)]


def describe(value: Any) -> str:
    """What the client sent, in JSON's words and cut short; strings are escaped, so a lone
    surrogate (valid in a JSON escape, not in UTF-8) cannot break the response's encoding."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        # str() of an int of thousands of digits is slow, and refused on CPython 3.11+
        return shorten(str(value)) if value.bit_length() <= 256 else "an integer too large to show"
    if isinstance(value, float):
        return json.dumps(value)  # NaN, Infinity and -Infinity as JSON's extensions spell them
    if isinstance(value, str):
        return json.dumps(shorten(value))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} entries"
    return type(value).__name__


def invalid_value(location: Location, value: Any) -> str:
    return f"{path_of(location)} must be {allowed_at(location)}; got {describe(value)}"


def missing_field(location: Location) -> str:
    return f"{path_of(location)} is missing; it must be {allowed_at(location)}"


def unknown_field(parent: Location, name: str) -> str:
    fields = REQUEST_FIELDS if not parent else TRANSACTION_FIELDS
    return (
        f"{path_of(parent)} has an unknown field {json.dumps(shorten(name))}; "
        f"the fields are {', '.join(fields)}"
    )


def history_too_long(length: int) -> str:
    return f"history must be {ALLOWED['history']}; got {length} entries"


def later_than_transaction(index: int, timestamp: int, transaction_timestamp: int) -> str:
    return (
        f"history[{index}].timestamp must not be later than transaction.timestamp "
        f"({transaction_timestamp}); got {timestamp}"
    )


# The check in plain Python. `type(x) is int` rather than isinstance: JSON's true and false are
# bools, and a bool is an int to isinstance, but no amount or timestamp.


def is_amount(value: Any) -> bool:
    # The comparison is false for NaN, and Infinity is over the maximum.
    return (type(value) is float or type(value) is int) and 0 < value <= MAX_AMOUNT


def is_currency(value: Any) -> bool:
    return type(value) is str and value in USD_PER_UNIT


def is_merchant_category(value: Any) -> bool:
    return type(value) is str and len(value) == 4 and value.isascii() and value.isdigit()


def is_country(value: Any) -> bool:
    return (
        type(value) is str
        and len(value) == 2
        and value.isascii()
        and value.isalpha()
        and value.isupper()
    )


def is_timestamp(value: Any) -> bool:
    return type(value) is int and MIN_TIMESTAMP <= value <= MAX_TIMESTAMP


def is_channel(value: Any) -> bool:
    return type(value) is str and value in CHANNELS


FIELD_CHECKS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("amount", is_amount),
    ("currency", is_currency),
    ("merchant_category", is_merchant_category),
    ("country", is_country),
    ("timestamp", is_timestamp),
    ("channel", is_channel),
)


def first_unknown_field(data: dict, fields: tuple[str, ...]) -> str:
    for name in data:
        if name not in fields:
            return name
    return ""  # not reached: called only when there are more keys than fields


def check_transaction(entry: Any, location: Location) -> None:
    """Refuse `entry` unless it is a transaction as the engine reads it; an integer amount
    becomes a float, as pydantic's float field makes it."""
    if type(entry) is not dict:
        raise RequestError(invalid_value(location, entry))
    for name, is_valid in FIELD_CHECKS:
        if name not in entry:
            raise RequestError(missing_field((*location, name)))
        if not is_valid(entry[name]):
            raise RequestError(invalid_value((*location, name), entry[name]))
    if len(entry) > len(FIELD_CHECKS):  # every field is there, so the rest are unknown
        raise RequestError(unknown_field(location, first_unknown_field(entry, TRANSACTION_FIELDS)))
    entry["amount"] = float(entry["amount"])


def check_history(history: Any) -> None:
    if type(history) is not list:
        raise RequestError(invalid_value(("history",), history))
    if len(history) > MAX_HISTORY:  # before the entries, as pydantic checks it
        raise RequestError(history_too_long(len(history)))
    for index, entry in enumerate(history):
        check_transaction(entry, ("history", index))


def check_history_not_later(transaction: dict, history: list[dict]) -> None:
    now = transaction["timestamp"]
    for index, entry in enumerate(history):
        if entry["timestamp"] > now:
            raise RequestError(later_than_transaction(index, entry["timestamp"], now))


def validate_request(data: Any) -> tuple[dict, list[dict]]:
    """The transaction and the history of a parsed request body, checked; RequestError if not."""
    if type(data) is not dict:
        raise RequestError(invalid_value((), data))
    if "transaction" not in data:
        raise RequestError(missing_field(("transaction",)))
    check_transaction(data["transaction"], ("transaction",))
    if "history" not in data:
        raise RequestError(missing_field(("history",)))
    check_history(data["history"])
    if len(data) > len(REQUEST_FIELDS):
        raise RequestError(unknown_field((), first_unknown_field(data, REQUEST_FIELDS)))
    transaction, history = data["transaction"], data["history"]
    check_history_not_later(transaction, history)
    return transaction, history


def parse_json(body: bytes) -> Any:
    """The body as JSON (UTF-8, as RFC 8259 requires); RequestError if it is not. NaN and Infinity
    parse here, as they do in pydantic, and are refused by the field that gets them."""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RequestError(NOT_JSON) from None


def validate_body(body: bytes) -> tuple[dict, list[dict]]:
    """The transaction and the history of a raw request body, checked; RequestError if not."""
    return validate_request(parse_json(body))
