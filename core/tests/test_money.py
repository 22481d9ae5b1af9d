from decimal import Decimal

import pytest

from core.money import format_money, from_minor_units, quantize, to_minor_units


@pytest.mark.parametrize(
    "amount, currency, minor",
    [
        ("12.34", "usd", 1234),
        ("0.005", "usd", 1),  # half-up, never banker's rounding
        ("0.004", "usd", 0),
        ("1999", "jpy", 1999),
        ("1999.5", "jpy", 2000),
        ("10", "EUR", 1000),
    ],
)
def test_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


def test_round_trip_through_minor_units():
    assert from_minor_units(1234, "usd") == Decimal("12.34")
    assert from_minor_units(1999, "jpy") == Decimal("1999")


def test_quantize_half_up():
    assert quantize(Decimal("2.675"), "usd") == Decimal("2.68")
    assert quantize(Decimal("2.665"), "usd") == Decimal("2.67")


def test_format_money(settings):
    settings.SHOP_CURRENCY = "usd"
    assert format_money(Decimal("1234.5")) == "$1,234.50"
    assert format_money(Decimal("-3"), symbol="€") == "-€3.00"
    assert format_money(Decimal("1500"), currency="jpy") == "¥1,500"
    assert format_money(Decimal("9"), currency="sek") == "SEK 9.00"
