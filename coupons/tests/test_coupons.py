import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from coupons.models import Coupon
from coupons.pricing import discount_for
from coupons.services import CouponRejected, check, find

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def coupon(**fields):
    fields = {"code": "SAVE", "kind": "percent", "value": Decimal("10"), **fields}
    return Coupon(**fields)


@pytest.mark.parametrize(
    "kind, value, subtotal, currency, expected",
    [
        ("percent", "10", "45.50", "usd", "4.55"),
        ("percent", "15", "0.10", "usd", "0.02"),  # 0.015 rounds half up
        ("percent", "12.5", "0.20", "usd", "0.03"),  # 0.025 → 0.03
        ("percent", "33.33", "100.00", "usd", "33.33"),
        ("percent", "100", "89.97", "usd", "89.97"),
        ("percent", "10", "1005", "jpy", "101"),  # 100.5 yen rounds up
        ("percent", "10", "1004", "jpy", "100"),
        ("fixed", "5", "45.50", "usd", "5.00"),
        ("fixed", "50", "45.50", "usd", "45.50"),  # capped at the subtotal
        ("fixed", "7.50", "1000", "jpy", "8"),
    ],
)
def test_discount_arithmetic(kind, value, subtotal, currency, expected):
    amount = discount_for(
        coupon(kind=kind, value=Decimal(value)), Decimal(subtotal), currency
    )
    assert amount == Decimal(expected)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, moment, message",
    [
        ({"active": False}, NOW, "The coupon SAVE is no longer active."),
        (
            {"valid_from": NOW + dt.timedelta(days=1)},
            NOW,
            f"The coupon SAVE is not valid yet: it starts on {NOW.day + 1} "
            f"{NOW:%B %Y}.",
        ),
        (
            {"valid_to": NOW},
            NOW,
            f"The coupon SAVE has expired: it ended on {NOW.day} {NOW:%B %Y}.",
        ),
        ({"usage_limit": 2, "times_used": 2}, NOW, "The coupon SAVE has been used up."),
        (
            {"minimum_subtotal": Decimal("50")},
            NOW,
            "The coupon SAVE needs a subtotal of at least $50.00: add $4.50 more "
            "to use it.",
        ),
    ],
)
def test_check_says_why(fields, moment, message):
    with (
        time_machine.travel(moment, tick=False),
        pytest.raises(CouponRejected) as rejected,
    ):
        check(coupon(**fields), Decimal("45.50"))
    assert rejected.value.message == message


@pytest.mark.django_db
def test_validity_window_over_time():
    window = coupon(
        valid_from=NOW, valid_to=NOW + dt.timedelta(days=7), usage_limit=3, times_used=2
    )
    with (
        time_machine.travel(NOW - dt.timedelta(seconds=1), tick=False),
        pytest.raises(CouponRejected),
    ):
        check(window, Decimal("10"))
    with time_machine.travel(NOW, tick=False):
        check(window, Decimal("10"))
    with (
        time_machine.travel(NOW + dt.timedelta(days=7), tick=False),
        pytest.raises(CouponRejected),
    ):
        check(window, Decimal("10"))


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["save10", " SAVE10 ", "Save10\n", "sAvE10"])
def test_codes_ignore_case_and_spaces(typed):
    Coupon.objects.create(code=" save10 ", kind="percent", value=10)

    assert find(typed).code == "SAVE10"


@pytest.mark.django_db
def test_merchant_validation_messages():
    Coupon.objects.create(code="SUMMER", kind="percent", value=10)
    bad = coupon(
        code="summer",
        value=Decimal("120"),
        valid_from=timezone.now(),
        valid_to=timezone.now() - dt.timedelta(days=1),
    )

    with pytest.raises(ValidationError) as invalid:
        bad.full_clean()

    assert invalid.value.message_dict == {
        "code": [
            "There is already a coupon SUMMER; codes ignore upper and lower case."
        ],
        "value": ["A percentage cannot be above 100."],
        "valid_to": ["The end must be after the start."],
    }
