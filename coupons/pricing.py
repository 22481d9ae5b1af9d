"""Coupon arithmetic, in one place."""

from decimal import ROUND_HALF_UP, Decimal

from core.money import minor_unit, quantize


def discount_for(coupon, subtotal, currency=None):
    """The amount off a subtotal: half-up to the minor unit, never above it."""
    subtotal = quantize(subtotal, currency)
    if coupon.kind == coupon.Kind.PERCENT:
        amount = (subtotal * coupon.value / Decimal(100)).quantize(
            minor_unit(currency), rounding=ROUND_HALF_UP
        )
    else:
        amount = quantize(coupon.value, currency)
    return min(amount, subtotal)
