"""What a merchant does to an order from the admin; each action is logged.

Views ask for confirmation and check the permission; these functions check the
order's state, do the work and write a Wagtail log entry with the user, so the
order's history shows who did what.
"""

import logging
from collections import Counter
from decimal import Decimal

import stripe
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from checkout import stripe_api
from checkout.ending import CheckoutPaid, SessionStillOpen, end_checkout
from checkout.fulfilment import REFUND_FAILURE_EVENTS, record_refund
from checkout.models import StripeEvent
from checkout.webhooks import replay_event
from core.money import from_minor_units, quantize, to_minor_units
from core.queue import enqueue
from orders.models import Invoice, Order
from orders.status import OrderStatus
from orders.tasks import email_invoice, email_shipped, generate_invoice

logger = logging.getLogger(__name__)

LOG_ACTIONS = {
    "cellar.order.refund": ("Refund", "Refunded through Stripe"),
    "cellar.order.resend_invoice": ("Resend invoice", "Invoice emailed again"),
    "cellar.order.regenerate_invoice": ("Regenerate invoice", "Invoice rendered again"),
    "cellar.order.ship": ("Mark shipped", "Marked shipped"),
    "cellar.order.deliver": ("Mark delivered", "Marked delivered"),
    "cellar.order.clear_attention": ("Clear attention", "Needs-attention cleared"),
    "cellar.order.release_hold": ("Release hold", "Checkout ended, hold released"),
    "cellar.stripe_event.replay": ("Replay", "Stripe event replayed"),
}


class ActionRefused(Exception):
    """The order is not in a state for this action; the message says why."""


def refund_key(order, amount=None, request_id=""):
    """One key per refund a merchant asks for. All that is left: one per order
    (once refunded in full, it is refused). Part of it: the confirmation form's
    own id and the amount, so a double click or a resent form reaches the same
    Stripe refund, whatever Stripe has confirmed meanwhile, and a new form asks
    for a new refund."""
    if amount is None:
        # After Stripe failed a refund, all that is left is a new refund: a key
        # Stripe has seen would answer with the failed one's success.
        if order.refund_failed_at is not None:
            return (
                f"cellar-order-{order.token}-refund-after-"
                f"{int(order.refund_failed_at.timestamp())}"
            )
        return f"cellar-order-{order.token}-refund"
    if not request_id:
        raise ValueError("a partial refund needs the id of the request asking it")
    return f"cellar-order-{order.token}-refund-{request_id}-{amount}"


def unanswered_refund_key(order, amount):
    """The key of the order's last refund when Stripe never answered it and it was
    for this ``amount``: the refund may have happened, so asking again (from a
    new form) must reach it, never make a second. After an answer, none."""
    last = (
        ModelLogEntry.objects.filter(
            object_id=str(order.pk), action="cellar.order.refund"
        )
        .order_by("-pk")
        .first()
    )
    data = last.data if last is not None else {}
    wanted = str(amount) if amount is not None else "rest"
    if data.get("status") == "no answer from Stripe" and data.get("amount") == wanted:
        return data.get("key")
    return None


def refundable(order):
    """What is left to refund on the order."""
    return order.total - order.amount_refunded


def refund_refusal(order):
    """Why this order cannot be refunded now, or None."""
    if order.status != OrderStatus.PAID:
        return (
            f"Only a paid order can be refunded; {order.reference} is "
            f"{order.get_status_display().lower()}."
        )
    if not order.stripe_payment_intent_id:
        return "Nothing was charged for this order; there is no refund."
    return None


def shipping_refusal(order):
    if order.status != OrderStatus.PAID:
        return "Only a paid order can be shipped."
    if order.shipped_at is not None:
        return f"{order.reference} was already marked shipped."
    return None


def delivery_refusal(order):
    if order.shipped_at is None:
        return f"{order.reference} is not marked shipped yet."
    if order.delivered_at is not None:
        return f"{order.reference} was already marked delivered."
    return None


def line_share(order, line, bottles):
    """What ``bottles`` of an order line cost the shopper: their share of what
    was paid for the wines (after the discount, with the tax added on top), the
    delivery left out."""
    if not order.subtotal:
        return Decimal(0)
    goods = order.total - order.shipping
    if not order.prices_include_tax:
        goods -= order.shipping_tax
    return quantize(goods * line.unit_price * bottles / order.subtotal, order.currency)


def bottles_left_to_refund(order):
    """For each line (by pk), the bottles not refunded yet by earlier refunds by
    line (those Stripe answered, each once: one it did not answer counts when
    retried)."""
    failed = set(
        StripeEvent.objects.filter(
            type__in=REFUND_FAILURE_EVENTS,
            payload__data__object__payment_intent=order.stripe_payment_intent_id,
            payload__data__object__status="failed",
        ).values_list("payload__data__object__id", flat=True)
    )
    # One per key: a double click or a retry logs one refund more than once. One
    # Stripe never answered counts (it may have happened; asking again reaches
    # it); one Stripe failed does not.
    by_key = {}
    for entry in ModelLogEntry.objects.filter(
        object_id=str(order.pk), action="cellar.order.refund"
    ).order_by("pk"):
        data = entry.data
        if data.get("lines") and data.get("refund") not in failed:
            by_key[data.get("key") or data.get("refund")] = data["lines"]
        elif data.get("refund") in failed:
            by_key.pop(data.get("key") or data.get("refund"), None)
    refunded = Counter()
    for lines in by_key.values():
        refunded.update({int(pk): count for pk, count in lines.items()})
    return {line.pk: line.quantity - refunded[line.pk] for line in order.lines.all()}


def refund(order, user, amount=None, request_id="", lines=None):
    """Refund ``amount`` of a paid order through Stripe, or all that is left, or
    the share of ``lines`` ({line pk: bottles}) that was paid for.

    The idempotency key makes a double click, a retry or a second merchant reach
    the same Stripe refund. What Stripe says was refunded in all is recorded on
    whichever confirmation comes first, this call's answer or the
    ``charge.refunded`` webhook, once; all of it makes the order refunded.
    """
    if refusal := refund_refusal(order):
        raise ActionRefused(refusal)
    if lines:
        amount = _lines_amount(order, lines)
    left = refundable(order)
    if amount is not None and not 0 < amount <= left:
        raise ActionRefused(
            f"A refund of {order.reference} must be more than 0 and at most "
            f"{left} {order.currency_code}, what is left of its total."
        )
    params = {
        "payment_intent": order.stripe_payment_intent_id,
        "reason": "requested_by_customer",
        "metadata": {"order_reference": order.reference},
        # What the charge has refunded in all, this refund included
        "expand": ["charge"],
    }
    if amount is not None:
        params["amount"] = to_minor_units(amount, order.currency)
    # Asking again for a refund Stripe never answered reaches that refund
    key = unanswered_refund_key(order, amount) or refund_key(order, amount, request_id)
    try:
        answer = stripe_api.client().v1.refunds.create(
            params=params,
            options={"idempotency_key": key},
        )
    except stripe.InvalidRequestError as error:
        raise ActionRefused(
            f"Stripe refused the refund: {error.user_message}"
        ) from error
    except stripe.StripeError as error:
        # The refund may have happened with its answer lost: say so in the log. A
        # retry asks with the same key, and charge.refunded settles it meanwhile.
        logger.warning("Refund of %s failed: %s", order, error)
        log(
            order,
            "cellar.order.refund",
            user=user,
            data={
                "status": "no answer from Stripe",
                "error": str(error),
                "amount": str(amount) if amount is not None else "rest",
                "key": key,
                **({"lines": {str(pk): n for pk, n in lines.items()}} if lines else {}),
            },
        )
        raise ActionRefused(
            "Stripe did not answer; nothing changed here yet. Try again: the same "
            "refund is asked for, never a second one."
        ) from error
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        order.stripe_refund_id = answer.id
        if answer.status == "succeeded":
            charge = answer.charge
            record_refund(
                order,
                from_minor_units(charge.amount_refunded, order.currency),
                bool(charge.refunded),
                cause=f"refund by {user.get_username()}",
            )
        else:
            order.save(update_fields=["stripe_refund_id", "updated_at"])
        log(
            order,
            "cellar.order.refund",
            user=user,
            data={
                "refund": answer.id,
                "key": key,
                "status": answer.status,
                "amount": str(from_minor_units(answer.amount, order.currency)),
                **({"lines": {str(pk): n for pk, n in lines.items()}} if lines else {}),
            },
        )
    return order


def _lines_amount(order, lines):
    left = bottles_left_to_refund(order)
    by_pk = {line.pk: line for line in order.lines.all()}
    amount = Decimal(0)
    for pk, bottles in lines.items():
        if pk not in by_pk or not 0 < bottles <= left[pk]:
            raise ActionRefused(
                f"{order.reference} has {left.get(pk, 0)} such bottles left to refund."
            )
        amount += line_share(order, by_pk[pk], bottles)
    return amount


def resend_invoice(order, user):
    invoice = _ready_invoice(order)
    with transaction.atomic():
        enqueue(email_invoice, invoice.pk, True)
        log(order, "cellar.order.resend_invoice", user=user, data={"to": order.email})


def regenerate_invoice(order, user):
    """Render the PDF again with the same number (a template or settings fix), or
    make the invoice of a paid order that has none (its task was lost), then
    email it if it was never emailed."""
    if not order.is_paid:
        raise ActionRefused("Only a paid order has an invoice.")
    invoice = Invoice.objects.filter(order=order).first()
    with transaction.atomic():
        if invoice is not None:
            Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PENDING)
        enqueue(generate_invoice, order.pk)
        log(
            order,
            "cellar.order.regenerate_invoice",
            user=user,
            data={"invoice": invoice.number if invoice else None},
        )


def mark_shipped(order, user, tracking_number="", carrier=""):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if refusal := shipping_refusal(order):
            raise ActionRefused(refusal)
        order.shipped_at = timezone.now()
        order.carrier = carrier
        order.tracking_number = tracking_number
        order.save(
            update_fields=["shipped_at", "carrier", "tracking_number", "updated_at"]
        )
        enqueue(email_shipped, order.pk)
        log(
            order,
            "cellar.order.ship",
            user=user,
            data={"carrier": carrier, "tracking_number": tracking_number},
        )
    return order


def mark_delivered(order, user):
    """The carrier says it arrived: the shopper's order page shows it."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if refusal := delivery_refusal(order):
            raise ActionRefused(refusal)
        order.delivered_at = timezone.now()
        order.save(update_fields=["delivered_at", "updated_at"])
        log(order, "cellar.order.deliver", user=user)
    return order


def clear_attention(order, user, note):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.needs_attention:
            raise ActionRefused(f"{order.reference} does not need attention.")
        reason = order.attention_reason
        at_stake = str(order.amount_at_stake)
        order.needs_attention = False
        order.attention_reason = ""
        order.amount_at_stake = 0
        order.save(
            update_fields=[
                "needs_attention",
                "attention_reason",
                "amount_at_stake",
                "updated_at",
            ]
        )
        log(
            order,
            "cellar.order.clear_attention",
            user=user,
            data={"reason": reason, "at_stake": at_stake, "note": note},
        )
    return order


def release_refusal(order):
    if order.status != OrderStatus.PENDING or order.held_until is None:
        return f"{order.reference} holds nothing: only a pending checkout does."
    return None


def release_hold(order, user):
    """End a pending checkout by hand: expired at Stripe, cancelled, its bottles
    and coupon use for sale again."""
    if refusal := release_refusal(order):
        raise ActionRefused(refusal)
    held = ", ".join(f"{line.sku} ×{line.quantity}" for line in order.lines.all())
    until = order.held_until
    try:
        end_checkout(order, f"released by {user}")
    except CheckoutPaid as completed:
        raise ActionRefused(
            f"Stripe says {order.reference} was paid just now: it is recorded as "
            "paid, and what it held is sold."
            if completed.paid
            else f"The shopper completed the checkout of {order.reference} with a "
            "bank debit that is under way: it keeps its hold until the debit "
            "settles or fails."
        ) from None
    except SessionStillOpen:
        raise ActionRefused(
            f"Stripe did not expire the payment page of {order.reference}; it "
            "keeps its hold. Try again in a minute."
        ) from None
    except stripe.StripeError as error:
        raise ActionRefused(f"Stripe could not be reached: {error}") from error
    order = Order.objects.get(pk=order.pk)
    if order.status != OrderStatus.CANCELLED:
        raise ActionRefused(
            f"{order.reference} is {order.get_status_display().lower()} now; "
            "nothing was released."
        )
    log(
        order,
        "cellar.order.release_hold",
        user=user,
        data={"held": held, "until": f"{until:%d %b %Y %H:%M} UTC"},
    )
    return order


def replay(stripe_event, user):
    try:
        status = replay_event(stripe_event.event_id)
    except Exception as error:
        logger.exception("Replaying %s failed", stripe_event)
        raise ActionRefused(f"The replay failed: {error}") from error
    log(stripe_event, "cellar.stripe_event.replay", user=user, data={"status": status})
    return status


def _ready_invoice(order):
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None or invoice.status != Invoice.Status.READY:
        raise ActionRefused("This order has no ready invoice to send.")
    return invoice
