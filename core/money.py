"""Money: currency precision, rounding, display and Stripe's minor units."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "chf": "CHF "}


def shop_currency():
    return settings.SHOP_CURRENCY.lower()


def minor_unit(currency=None):
    """The smallest amount of the currency, as a Decimal (0.01, or 1 for JPY)."""
    currency = (currency or shop_currency()).lower()
    return Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def quantize(amount, currency=None):
    """Round half-up to the currency's minor unit."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def to_minor_units(amount, currency=None):
    """Decimal shop amount to Stripe's integer amount (cents, or yen)."""
    return int(quantize(amount, currency) / minor_unit(currency))


def from_minor_units(value, currency=None):
    return quantize(Decimal(value) * minor_unit(currency), currency)


def summed(total, currency=None):
    """A database sum as a shop amount: no rows sum to zero, and SQLite's sums of
    decimals (floats) are rounded to the currency's minor unit."""
    return quantize(total or 0, currency)


def format_money(amount, currency=None, symbol=None):
    currency = (currency or shop_currency()).lower()
    if symbol is None or symbol == "":
        symbol = CURRENCY_SYMBOLS.get(currency, currency.upper() + " ")
    amount = quantize(amount, currency)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,}"
