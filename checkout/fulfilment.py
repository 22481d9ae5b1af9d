"""fulfil_checkout: the one place an order becomes paid.

The success page, the webhook, the reconcile task and a replayed event all call it
with the Checkout Session id. It asks Stripe for the session (a visit or an event is
never proof of payment), locks the order row, and makes each transition once however
many callers race it.
"""

import logging

from django.db import transaction
from django.utils import timezone

from core.money import from_minor_units, to_minor_units
from core.queue import enqueue
from orders import holds
from orders.customers import record_customer
from orders.models import Order
from orders.status import SOLD, OrderStatus, transition
from orders.tasks import generate_invoice

from . import stripe_api
from .models import StripeEvent

logger = logging.getLogger(__name__)
PAID_STATES = ("paid", "no_payment_required")


def _locked_order(session_id):
    return (
        Order.objects.select_for_update().filter(stripe_session_id=session_id).first()
    )


def fulfil_checkout(session_id, cause):
    session = stripe_api.client().v1.checkout.sessions.retrieve(session_id)
    # Inside a webhook's transaction no savepoint is needed: an error undoes it all.
    with transaction.atomic(savepoint=False):
        order = _locked_order(session_id)
        if order is None:
            logger.warning("No order for Checkout Session %s (%s)", session_id, cause)
            return None
        _apply_session(order, session, cause)
        return order


def _apply_session(order, session, cause):
    if order.is_paid:
        return
    if session.status == "expired":
        if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            transition(order, OrderStatus.CANCELLED, cause, "Checkout Session expired")
            order.save()
        return
    if session.status != "complete":
        return
    expected = to_minor_units(order.total, order.currency)
    if session.amount_total != expected or session.currency != order.currency:
        reason = (
            f"Stripe charged {session.amount_total} {session.currency} (minor units) "
            f"but the order total is {expected} {order.currency}; not fulfilled."
        )
        if reason not in order.attention_reason:
            order.flag(reason, from_minor_units(session.amount_total, order.currency))
            order.save()
        return
    if session.payment_status in PAID_STATES:
        _mark_paid(order, session, cause)
    elif session.payment_status == "unpaid" and order.status == OrderStatus.PENDING:
        transition(order, OrderStatus.PROCESSING, cause, "Payment under way")
        order.save()


def _mark_paid(order, session, cause):
    # A double payment: this checkout was cancelled (superseded, expired), or a
    # twin (another version of the same cart) was paid after this one was placed,
    # while their contents overlapped. A cart paid and then shopped again makes
    # orders placed after that payment, which are no twins.
    doubts = []
    if order.status == OrderStatus.CANCELLED:
        why = order.history.filter(to_status=OrderStatus.CANCELLED).last()
        doubts.append(
            f"Paid after its checkout was cancelled ({why.note if why else 'expired'})"
        )
    twins = order.same_cart_orders().filter(
        status__in=SOLD, paid_at__gt=order.created_at
    )
    if twins:
        doubts.append(
            "The same cart was also paid as order "
            + ", ".join(twin.reference for twin in twins)
        )
    if doubts:
        order.flag(
            "; ".join(doubts) + ": the shopper may have paid twice for the same "
            "bottles; check stock and refund one before shipping.",
            order.total,
        )
    transition(
        order, OrderStatus.PAID, cause, f"payment_status={session.payment_status}"
    )
    order.paid_at = timezone.now()
    intent = session.payment_intent
    order.stripe_payment_intent_id = getattr(intent, "id", intent) or ""
    _apply_refunds_received_first(order, cause)
    # The rows many payments share (a popular coupon, a wine on sale) are locked
    # last, so each is held only until the commit right after; always in the same
    # order (coupon, then wines by id), so two payments never wait on each other.
    record_customer(order, session)
    short, missing, held = holds.sell(order)
    if short:
        why = "" if held else "Paid after its checkout's hold had ended. "
        order.flag(f"{why}Oversold: too little stock for {', '.join(short)}.", missing)
    order.save()
    enqueue(generate_invoice, order.pk)


# What a handler answers when its event concerns an order not paid yet.
NOT_YET = "not yet"


def apply_refund(charge, cause, late=False):
    """charge.refunded: record what Stripe says was refunded, on the paid order.

    Stripe does not order its events: a refund may arrive before the payment it
    refunds is recorded. Then nothing matches the payment intent yet; the answer is
    NOT_YET, the ledger keeps the event as deferred, and the paid transition (or
    the reconcile task, should the two race: ``late``) applies it, flagged.
    """
    intent = charge.get("payment_intent")
    with transaction.atomic():
        order = (
            Order.objects.select_for_update().filter(stripe_payment_intent_id=intent)
        ).first()
        if order is None:
            logger.info("charge.refunded for %s before its order was paid", intent)
            return NOT_YET
        refunded = from_minor_units(charge["amount_refunded"], order.currency)
        if late:
            flag_early_refund(order, refunded)
        record_refund(order, refunded, bool(charge.get("refunded")), cause)
        return order


def _apply_refunds_received_first(order, cause):
    """Refunds of this payment that reached the ledger before it was recorded."""
    events = StripeEvent.objects.filter(
        type="charge.refunded",
        status=StripeEvent.Status.DEFERRED,
        payload__data__object__payment_intent=order.stripe_payment_intent_id,
    )
    charges = [event.payload["data"]["object"] for event in events]
    if not charges:
        return
    latest = max(charges, key=lambda charge: charge["amount_refunded"])
    refunded = from_minor_units(latest["amount_refunded"], order.currency)
    flag_early_refund(order, refunded)
    record_refund(order, refunded, bool(latest["refunded"]), cause)
    events.update(status=StripeEvent.Status.PROCESSED, processed_at=timezone.now())


def flag_early_refund(order, refunded):
    order.flag(
        f"Stripe refunded {refunded} {order.currency_code} before the payment "
        "reached the shop; check before shipping.",
        refunded,
    )


def record_refund(order, amount_refunded, in_full, cause):
    """Record a refund Stripe confirmed, on a locked order; the first confirmation
    (the refund API's answer or ``charge.refunded``) moves it to refunded, once."""
    if amount_refunded > order.amount_refunded:
        order.amount_refunded = amount_refunded
    if in_full and order.status == OrderStatus.PAID:
        transition(order, OrderStatus.REFUNDED, cause, f"Refunded {amount_refunded}")
    order.save()


def fail_payment(session_id, cause):
    """checkout.session.async_payment_failed: the order fails; the cart stays."""
    with transaction.atomic():
        order = _locked_order(session_id)
        if order is not None and order.status in (
            OrderStatus.PENDING,
            OrderStatus.PROCESSING,
        ):
            transition(order, OrderStatus.FAILED, cause, "Async payment failed")
            order.save()
        return order
