"""What a checkout holds for its shopper: each line's bottles and the coupon use.

A pending order holds them from the moment it is placed (in the same transaction,
all or nothing) until its checkout ends: it is paid (the hold becomes the sale), or
its Checkout Session expires, is expired by a newer checkout of the same cart, its
payment fails, or it is cancelled. ``Order.held_until`` says an order holds.
"""

from datetime import timedelta

from django.utils import timezone

from coupons import services as coupons
from products import stock

# Stripe wants a session to expire at least 30 minutes after it is made: the
# hold (and the session's expires_at) allows two minutes more to make it.
SESSION_MARGIN = timedelta(minutes=2)
# Stripe refuses a session that expires more than 24 hours after it is made.
LONGEST = timedelta(hours=24) - timedelta(minutes=1)


class HoldRefused(Exception):
    """Others hold or bought what this checkout needs; ``reasons`` say what."""

    def __init__(self, reasons):
        super().__init__(reasons)
        self.reasons = reasons


PREFIX = "order:"


def holder(order):
    """The holds' name for an order."""
    return f"{PREFIX}{order.token}"


def hold_end(minutes):
    """When a checkout placed now ends: the shop's hold time and the margin, within
    the 24 hours Stripe allows a session."""
    length = min(timedelta(minutes=minutes) + SESSION_MARGIN, LONGEST)
    return timezone.now() + length


def place(order, lines, until, shared_with=()):
    """Hold ``lines`` (``{variant id: quantity}``) and the order's coupon use for
    ``order`` until ``until``, or raise HoldRefused; in the transaction that makes
    the order. ``shared_with``: the same cart's earlier orders, which this one
    replaces, so what they hold is this cart's to use."""
    others = [holder(earlier) for earlier in shared_with]
    # The coupon row before the wines', as a payment locks them (coupons.redeem,
    # then stock.sell): a checkout and a payment never wait on each other.
    refusal = None
    if order.coupon_code:
        refusal = coupons.hold_use(order.coupon_code, holder(order), others)
    short = stock.hold(holder(order), f"Order {order.reference}", until, lines, others)
    reasons = [_reason(shortfall) for shortfall in short]
    if refusal:
        reasons.append(refusal)
    if reasons:
        raise HoldRefused(reasons)  # the transaction, and what it held, roll back
    order.held_until = until


def _reason(shortfall):
    # As the cart says it when it finds the same on reading.
    if shortfall.available <= 0:
        return stock.gone_notice(shortfall.variant)
    return stock.lowered_notice(
        shortfall.variant, shortfall.available, shortfall.available
    )


def release(order):
    """End the order's holds unsold (its checkout ended unpaid); on a locked order,
    saved by the caller. Answers whether it held anything."""
    if order.held_until is None:
        return False
    stock.release(holder(order))
    coupons.release_use(holder(order))
    order.held_until = None
    return True


def sell(order):
    """The paid order's coupon use and bottles: what it held is sold; what it no
    longer held is taken if nobody holds it. Answers the shortfalls (``["SKU ×n
    (m in stock)"]``), the value of the bottles paid for but not there, and whether
    the order still held them when paid. The coupon is locked before the wines
    (every payment and every checkout locks in that order)."""
    held = order.held_until is not None
    coupons.redeem(order, holder(order))
    lines = [line for line in order.lines.all() if line.variant_id is not None]
    wanted = {}
    for line in lines:
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    short = stock.sell(holder(order), wanted)
    order.held_until = None
    described, missing = [], 0
    for line in lines:
        if line.variant_id in short:
            there = short.pop(line.variant_id)
            described.append(f"{line.sku} ×{line.quantity} ({there} in stock)")
            missing += line.unit_price * (line.quantity - there)
    return described, missing, held
