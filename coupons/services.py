"""Coupon rules: whether a code applies, and counting a use once it is paid for."""

from django.db.models import F
from django.utils import timezone

from core import ratelimit
from core.money import format_money

from .models import Coupon, CouponHold, normalise_code

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


def uses_taken(coupon, holders=()):
    """Uses paid for, and held by checkouts other than ``holders``."""
    if coupon.pk is None:
        return coupon.times_used
    held = CouponHold.objects.filter(coupon=coupon).exclude(holder__in=holders)
    return coupon.times_used + held.count()


def check(coupon, subtotal, now=None, holders=()):
    """Raise CouponRejected saying why the coupon does not apply now. ``holders``:
    the checkouts of this cart, whose held uses are its own."""
    now = now or timezone.now()
    name = coupon.code
    if not coupon.active:
        raise CouponRejected(f"The coupon {name} is no longer active.")
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponRejected(
            f"The coupon {name} is not valid yet: it starts on "
            f"{_day(coupon.valid_from)}."
        )
    if coupon.valid_to and now >= coupon.valid_to:
        raise CouponRejected(
            f"The coupon {name} has expired: it ended on {_day(coupon.valid_to)}."
        )
    if coupon.usage_limit is not None and (
        coupon.times_used >= coupon.usage_limit
        or uses_taken(coupon, holders) >= coupon.usage_limit
    ):
        raise CouponRejected(f"The coupon {name} has been used up.")
    if coupon.minimum_subtotal and subtotal < coupon.minimum_subtotal:
        raise CouponRejected(
            f"The coupon {name} needs a subtotal of at least "
            f"{format_money(coupon.minimum_subtotal)}: add "
            f"{format_money(coupon.minimum_subtotal - subtotal)} more to use it."
        )


def _day(moment):
    return timezone.localtime(moment).strftime("%-d %B %Y")


def validate_code(code, subtotal, request, holders=()):
    """The coupon for a code a shopper typed, or why not.

    A code the shop does not have gets one generic answer, so codes cannot be
    told from typos; a code it has says why it does not apply (spend more, when
    it starts or ended, used up), which is what the shopper needs to act on and
    what the shop printed on its flyer anyway. Each attempt takes a slot in its
    session's and its address's window first, and only a code that applies gives
    its slot back: however many guesses arrive at once, at most MAX_FAILURES a
    window are ever checked (core/ratelimit.py).
    """
    limits = ratelimit.per_client(
        request, "coupon-failures", MAX_FAILURES, MAX_FAILURES
    )
    slots = ratelimit.take(limits, FAILURE_WINDOW)
    if not slots.allowed:
        raise TooManyAttempts(slots.retry_after)
    coupon = find(code)
    # A code switched off or not launched yet reads as one the shop does not have
    if (
        coupon is None
        or not coupon.active
        or (coupon.valid_from and timezone.now() < coupon.valid_from)
    ):
        raise CouponRejected(GENERIC_REFUSAL)
    check(coupon, subtotal, holders=holders)
    slots.give_back()
    return coupon


def hold_use(code, holder, shared_with=()):
    """Hold one use of a limited coupon for ``holder``, with the coupon row locked
    so concurrent checkouts count each other; run it in the transaction that makes
    the checkout. What ``shared_with`` holds (the same cart's earlier checkouts)
    does not count. Answers why not, or None when held."""
    found = Coupon.objects.filter(code=code).values_list("usage_limit", flat=True)
    if found and found[0] is None:
        return (
            None  # no limit: nothing to hold, and no row lock every checkout waits on
        )
    coupon = Coupon.objects.select_for_update().filter(code=code).first()
    if coupon is None or not coupon.active:
        return f"The coupon {code} is no longer available: we removed it."
    if coupon.usage_limit is not None and (
        uses_taken(coupon, [holder, *shared_with]) >= coupon.usage_limit
    ):
        return (
            f"The coupon {coupon.code} has just been used up by other shoppers: "
            "it was removed from your cart."
        )
    CouponHold.objects.get_or_create(coupon=coupon, holder=holder)
    return None


def release_use(holder):
    """End ``holder``'s coupon hold unused (its checkout ended unpaid)."""
    CouponHold.objects.filter(holder=holder).delete()


def redeem(order, holder):
    """Count the order's coupon use, under a row lock, on the paid transition.

    A use its checkout held is counted. One it did not hold (the hold ended before
    the payment landed) is counted if the limit still allows it; past the limit it
    still stands, since the shopper paid the discounted price, and the order is
    flagged instead.
    """
    if not order.coupon_code:
        return
    coupon = Coupon.objects.select_for_update().filter(code=order.coupon_code).first()
    if coupon is None:
        order.flag(
            f"Coupon {order.coupon_code} was deleted before payment.", order.discount
        )
        return
    held, _ = CouponHold.objects.filter(coupon=coupon, holder=holder).delete()
    # A held use was counted in when held; only a limit lowered (or uses counted)
    # behind the holds' back since can leave it none.
    taken = coupon.times_used if held else uses_taken(coupon)
    if coupon.usage_limit is not None and taken >= coupon.usage_limit:
        order.flag(
            f"Coupon {coupon.code} had reached its limit of {coupon.usage_limit} uses "
            "when this order was paid; the shopper paid the discounted price.",
            order.discount,
        )
        return
    Coupon.objects.filter(pk=coupon.pk).update(times_used=F("times_used") + 1)
