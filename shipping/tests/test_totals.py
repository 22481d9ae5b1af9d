"""Exact totals: goods − discount + shipping + tax, rounded once per line."""

from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from shipping.totals import Rate, allocate, compute, shipping_cost

NY = Rate("Sales tax", D("8.875"), "US", "NY", applies_to_shipping=True)
CA = Rate("Sales tax", D("7.25"), "US", "CA", applies_to_shipping=False)
VAT = Rate("VAT", D("20"), "GB")
JP = Rate("Consumption tax", D("10"), "JP")
GROUND = SimpleNamespace(price=D("12.00"), per_bottle=D("1.00"), free_above=D("150"))


@pytest.mark.parametrize(
    ("case", "lines", "discount", "shipping", "rate", "inclusive", "currency", "want"),
    [
        (
            "exclusive, a state taxing shipping",
            [D("40.00")],
            D("0"),
            D("14.00"),
            NY,
            False,
            "usd",
            # 40 × 8.875% = 3.55; 14 × 8.875% = 1.2425 → 1.24
            {"tax": "4.79", "total": "58.79"},
        ),
        (
            "inclusive VAT, on shipping too",
            [D("25.00"), D("35.00")],
            D("0"),
            D("41.00"),
            VAT,
            True,
            "gbp",
            # 25/6 = 4.1667 → 4.17; 35/6 = 5.8333 → 5.83; 41/6 = 6.8333 → 6.83
            {"tax": "16.83", "total": "101.00"},
        ),
        (
            "zero-decimal currency",
            [D("4500"), D("999")],
            D("0"),
            D("1200"),
            JP,
            False,
            "jpy",
            # 450 + 99.9 → 100 + 120
            {"tax": "670", "total": "7369"},
        ),
        (
            "a percent coupon lowers the taxable amount, line by line",
            [D("30.00"), D("20.00")],
            D("5.00"),
            D("14.00"),
            CA,
            False,
            "usd",
            # 27 × 7.25% = 1.9575 → 1.96; 18 × 7.25% = 1.305 → 1.31; not on shipping
            {"tax": "3.27", "total": "62.27"},
        ),
        (
            "a fixed coupon spread over three lines in cents",
            [D("33.33"), D("33.33"), D("33.34")],
            D("10.00"),
            D("0"),
            NY,
            False,
            "usd",
            # 30.00 / 30.00 / 30.00 after 3.33 / 3.33 / 3.34: 2.6625 → 2.66 each
            {"tax": "7.98", "total": "97.98"},
        ),
        (
            "a state without tax",
            [D("40.00")],
            D("0"),
            D("14.00"),
            None,
            False,
            "usd",
            {"tax": "0.00", "total": "54.00"},
        ),
    ],
)
def test_totals(case, lines, discount, shipping, rate, inclusive, currency, want):
    totals = compute(
        lines,
        discount,
        currency=currency,
        shipping=shipping,
        rate=rate,
        prices_include_tax=inclusive,
    )
    assert (str(totals.tax), str(totals.total)) == (want["tax"], want["total"]), case
    assert totals.total == (
        totals.subtotal - totals.discount + totals.shipping + totals.tax_added
    )
    assert sum(t.amount for t in totals.tax_lines) == totals.tax


def test_the_tax_line_names_the_rate_and_what_it_is_on():
    totals = compute(
        [D("25.00"), D("35.00")],
        D("0"),
        currency="gbp",
        shipping=D("41.00"),
        rate=VAT,
        prices_include_tax=True,
    )
    [line] = totals.tax_lines
    assert (line.label, line.taxable, line.amount) == (
        "VAT 20%",
        D("84.17"),
        D("16.83"),
    )


@pytest.mark.parametrize(
    ("goods", "bottles", "want"),
    [
        (D("160.00"), 2, D("0.00")),  # from 150: free
        (D("150.00"), 2, D("0.00")),
        (D("144.00"), 2, D("14.00")),  # a 10% coupon took 160 below 150
        (D("40.00"), 6, D("18.00")),  # a case of 6: 12 + 6 × 1
    ],
)
def test_shipping_cost(goods, bottles, want):
    assert shipping_cost(GROUND, bottles, goods, "usd") == want


def test_a_discount_is_spread_to_the_cent():
    assert allocate(D("10.00"), [D("33.33"), D("33.33"), D("33.34")], "usd") == [
        D("3.33"),
        D("3.33"),
        D("3.34"),
    ]
    assert allocate(D("0.01"), [D("1.00"), D("3.00")], "usd") == [D("0.00"), D("0.01")]
    assert allocate(D("7"), [D("500"), D("500"), D("1")], "jpy") == [
        D("4"),
        D("3"),
        D("0"),
    ]
