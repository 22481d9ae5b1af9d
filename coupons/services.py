"""Coupon rules: whether a code applies, and counting a use once it is paid for."""

from django.db.models import F
from django.utils import timezone

from core import ratelimit
from core.money import format_money

from .models import Coupon, normalise_code

GENERIC_REFUSAL = "That code is not valid."
FAILURE_WINDOW = 60  # seconds
MAX_FAILURES = 5


class CouponRejected(Exception):
    """The code cannot be used; ``message`` is what the shopper reads."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class TooManyAttempts(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after
        self.message = (
            f"Too many wrong codes. Please wait {retry_after} seconds and try again."
        )


def find(code):
    code = normalise_code(code)
    # PostgreSQL refuses NUL in a query string; no code can contain one.
    if not code or "\x00" in code:
        return None
    return Coupon.objects.filter(code=code).first()


def check(coupon, subtotal, now=None):
    """Raise CouponRejected saying why the coupon does not apply now."""
    now = now or timezone.now()
    name = coupon.code
    if not coupon.active:
        raise CouponRejected(f"The coupon {name} is no longer active.")
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponRejected(f"The coupon {name} is not valid yet.")
    if coupon.valid_to and now >= coupon.valid_to:
        raise CouponRejected(f"The coupon {name} has expired.")
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        raise CouponRejected(f"The coupon {name} has been used up.")
    if coupon.minimum_subtotal and subtotal < coupon.minimum_subtotal:
        raise CouponRejected(
            f"The coupon {name} needs a subtotal of at least "
            f"{format_money(coupon.minimum_subtotal)}."
        )


def validate_code(code, subtotal, request):
    """The coupon for a code a shopper typed, or one generic refusal.

    Every refusal reads the same so codes cannot be guessed one reason at a time.
    Each attempt takes a slot in its session's and its address's window first, and
    a valid code gives its slot back: however many guesses arrive at once, at most
    MAX_FAILURES a window are ever checked (core/ratelimit.py).
    """
    limits = ratelimit.per_client(
        request, "coupon-failures", MAX_FAILURES, MAX_FAILURES
    )
    slots = ratelimit.take(limits, FAILURE_WINDOW)
    if not slots.allowed:
        raise TooManyAttempts(slots.retry_after)
    coupon = find(code)
    try:
        if coupon is None:
            raise CouponRejected(GENERIC_REFUSAL)
        check(coupon, subtotal)
    except CouponRejected:
        raise CouponRejected(GENERIC_REFUSAL) from None
    slots.give_back()
    return coupon


def redeem(order, now=None):
    """Count the order's coupon use, under a row lock, on the paid transition.

    A use past the limit (a concurrent payment got there first) still stands, since
    the shopper paid the discounted price; the order is flagged instead.
    """
    if not order.coupon_code:
        return
    coupon = Coupon.objects.select_for_update().filter(code=order.coupon_code).first()
    if coupon is None:
        order.flag(
            f"Coupon {order.coupon_code} was deleted before payment.", order.discount
        )
        return
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        order.flag(
            f"Coupon {coupon.code} had reached its limit of {coupon.usage_limit} uses "
            "when this order was paid; the shopper paid the discounted price.",
            order.discount,
        )
        return
    Coupon.objects.filter(pk=coupon.pk).update(times_used=F("times_used") + 1)
