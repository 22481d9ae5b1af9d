"""An order's statuses and the one table of the changes allowed between them."""

from django.db import models

from . import holds


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PROCESSING = "processing", "Payment processing"
    PAID = "paid", "Paid"
    FAILED = "failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


S = OrderStatus
# The orders that were paid for: paid, and paid then refunded in full.
SOLD = (S.PAID, S.REFUNDED)
# The one table of allowed status changes. Stripe is the authority on money: a
# payment it reports for a cancelled or failed order is still recorded as paid.
TRANSITIONS = {
    S.PENDING: {S.PROCESSING, S.PAID, S.FAILED, S.CANCELLED},
    S.PROCESSING: {S.PAID, S.FAILED, S.CANCELLED},
    S.FAILED: {S.PAID},
    S.CANCELLED: {S.PAID},
    S.PAID: {S.REFUNDED},
    # A refund Stripe confirmed, then failed (the card was closed): paid again.
    S.REFUNDED: {S.PAID},
}


class IllegalTransition(Exception):
    pass


def transition(order, to_status, cause, note=""):
    """Move a locked order along the transition table and record why. An order
    that ends unpaid releases what it held (a paid one sells it: holds.sell)."""
    if to_status == order.status:
        return False
    if to_status not in TRANSITIONS[order.status]:
        raise IllegalTransition(f"{order}: {order.status} → {to_status} ({cause})")
    order.history.create(
        from_status=order.status, to_status=to_status, cause=cause, note=note
    )
    order.status = to_status
    if to_status in (S.CANCELLED, S.FAILED):
        # Its checkout ended unpaid: what it held is for sale again.
        holds.release(order)
    return True
