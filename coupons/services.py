"""Coupon rules: whether a code applies, and counting a use once it is paid for."""

import contextlib
import time

from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from products.pricing import format_money

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
    Each attempt takes a slot in its session's and its address's window first (an
    atomic increment), and a valid code gives its slot back: however many guesses
    arrive at once, at most MAX_FAILURES a window are ever checked.
    """
    slots = _take_slots(request)
    if any(count > MAX_FAILURES for _, count in slots):
        raise TooManyAttempts(_wait(slots))
    coupon = find(code)
    try:
        if coupon is None:
            raise CouponRejected(GENERIC_REFUSAL)
        check(coupon, subtotal)
    except CouponRejected:
        raise CouponRejected(GENERIC_REFUSAL) from None
    for key, _ in slots:
        with contextlib.suppress(ValueError):  # its window ended meanwhile
            cache.decr(key)
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
        order.flag(f"Coupon {order.coupon_code} was deleted before payment.")
        return
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        order.flag(
            f"Coupon {coupon.code} had reached its limit of {coupon.usage_limit} uses "
            "when this order was paid; the shopper paid the discounted price."
        )
        return
    Coupon.objects.filter(pk=coupon.pk).update(times_used=F("times_used") + 1)


def _keys(request):
    keys = [f"coupon-failures:ip:{request.META.get('REMOTE_ADDR', '')}"]
    session_key = getattr(request, "session", None) and request.session.session_key
    if session_key:
        keys.append(f"coupon-failures:session:{session_key}")
    return keys


def _take_slots(request):
    """[(key, attempts in this window including this one)] per session and address.

    ``add`` starts a window (it does nothing if one is open) and ``incr`` is atomic
    in Redis and in the local cache. Should the window end between the two, the
    increment starts the key afresh without an expiry; the first count of a window
    (re)sets it.
    """
    now = time.time()
    slots = []
    for key in _keys(request):
        cache.add(key, 0, timeout=FAILURE_WINDOW)
        cache.add(f"{key}:reset", now + FAILURE_WINDOW, timeout=FAILURE_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=FAILURE_WINDOW)
            count = 1
        if count == 1:
            cache.touch(key, FAILURE_WINDOW)
        slots.append((key, count))
    return slots


def _wait(slots):
    """Seconds until the fullest window ends (Retry-After)."""
    now = time.time()
    resets = cache.get_many([f"{key}:reset" for key, _ in slots])
    return max((int(reset - now) + 1 for reset in resets.values()), default=1)
