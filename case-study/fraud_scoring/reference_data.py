"""Fixed tables shipped with the code: the engine never fetches anything at scoring time."""

from __future__ import annotations

# US dollars per one unit of each currency. Fixed illustrative values, not market data: the scorer
# only needs a stable common unit to compare amounts, and a test corpus that never drifts.
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "JPY": 0.0067,
    "CHF": 1.13,
    "CAD": 0.73,
    "AUD": 0.66,
    "BRL": 0.18,
}

# Merchant category codes (ISO 18245) that card issuers commonly treat as high risk.
HIGH_RISK_MERCHANT_CATEGORIES: dict[str, str] = {
    "4829": "Wire transfers and money orders",
    "5967": "Direct marketing: inbound telemarketing",
    "6051": "Quasi-cash: crypto, foreign currency, money orders",
    "6540": "Stored-value card purchase and load",
    "7995": "Betting, casino gaming and lottery",
}

# ISO 3166 alpha-2 codes this illustrative issuer treats as high risk (after the FATF "call for
# action" list); a real issuer maintains its own list.
HIGH_RISK_COUNTRIES: tuple[str, ...] = ("IR", "KP", "MM")

# How the card was used. The first three need the card (or the phone holding it) at the terminal.
CHANNELS: tuple[str, ...] = ("card_present", "contactless", "online", "atm")
IN_PERSON_CHANNELS: tuple[str, ...] = ("card_present", "contactless", "atm")
