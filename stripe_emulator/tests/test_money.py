import pytest

from stripe_emulator.money import format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "formatted"),
    [
        (1_250, "usd", "$12.50"),
        (123_456_789, "usd", "$1,234,567.89"),
        (1_200, "jpy", "¥1,200"),
        (-1_000, "eur", "-€10.00"),
        (5_000, "chf", "50.00 CHF"),
        (7, "krw", "7 KRW"),
    ],
)
def test_format_amount_knows_zero_decimal_currencies(amount, currency, formatted):
    assert format_amount(amount, currency) == formatted
