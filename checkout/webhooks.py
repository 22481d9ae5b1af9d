"""Stripe webhook events: verified, recorded once in the ledger, then handled."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orders.models import Order

from .fulfilment import (
    NOT_YET,
    REFUND_FAILURE_EVENTS,
    apply_refund,
    apply_refund_failure,
    fail_payment,
    fulfil_checkout,
    fulfil_intent,
    intent_order,
)
from .models import StripeEvent

logger = logging.getLogger(__name__)
DEFERRED_FOR = timedelta(days=7)

HANDLERS = {
    "checkout.session.completed": lambda obj, cause: fulfil_checkout(obj["id"], cause),
    "checkout.session.async_payment_succeeded": lambda obj, cause: fulfil_checkout(
        obj["id"], cause
    ),
    "checkout.session.async_payment_failed": lambda obj, cause: fail_payment(
        obj["id"], cause
    ),
    "checkout.session.expired": lambda obj, cause: fulfil_checkout(obj["id"], cause),
    "charge.refunded": lambda obj, cause: apply_refund(obj, cause),
    # A refund Stripe confirmed, then failed (either event; both may come)
    "charge.refund.updated": lambda obj, cause: apply_refund_failure(obj, cause),
    "refund.failed": lambda obj, cause: apply_refund_failure(obj, cause),
    # An order paid on the shop's page: the same fulfilment, by its intent.
    "payment_intent.succeeded": lambda obj, cause: fulfil_intent(obj["id"], cause),
    "payment_intent.processing": lambda obj, cause: fulfil_intent(obj["id"], cause),
    "payment_intent.payment_failed": lambda obj, cause: fulfil_intent(obj["id"], cause),
    "payment_intent.canceled": lambda obj, cause: fulfil_intent(obj["id"], cause),
}


# A deferred event handled once its order exists: a refund that overtook its
# payment, applied after the payment was recorded, is flagged for the merchant.
LATE_HANDLERS = {
    "charge.refunded": lambda obj, cause: apply_refund(obj, cause, late=True),
}
SESSION_EVENTS = {name for name in HANDLERS if name.startswith("checkout.session.")}
INTENT_EVENTS = {name for name in HANDLERS if name.startswith("payment_intent.")}


def malformed(event):
    """Why a verified payload is not a Stripe event the handlers can read, or "".

    Stripe's events always have this shape; a signed payload without it answers 400
    rather than failing half-way through a handler.
    """
    if not isinstance(event, dict):
        return "not an object"
    if not _text(event.get("id")) or not _text(event.get("type")):
        return "id and type must be strings"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return "data.object must be an object"
    if event["type"] in SESSION_EVENTS and not _text(obj.get("id")):
        return "data.object.id must be a Checkout Session id"
    if event["type"] in INTENT_EVENTS and not _text(obj.get("id")):
        return "data.object.id must be a PaymentIntent id"
    if event["type"] == "charge.refunded" and not (
        _text(obj.get("id"))
        and _text(obj.get("payment_intent"))
        and type(obj.get("amount_refunded")) is int
        and obj["amount_refunded"] >= 0
        and isinstance(obj.get("refunded"), bool)
    ):
        return "data.object must be a charge with its refund"
    if event["type"] in REFUND_FAILURE_EVENTS and not (
        _text(obj.get("id"))
        and _text(obj.get("charge"))
        and _text(obj.get("payment_intent"))
        and _text(obj.get("status"))
        and type(obj.get("amount")) is int
        and obj["amount"] > 0
    ):
        return "data.object must be a refund of a payment"
    return ""


def _ours(event_type, obj):
    """Whether a session's or intent's event concerns an order of ours: another
    integration on the same Stripe account has its own, and a Checkout Session's
    PaymentIntent is that session's business."""
    if event_type in SESSION_EVENTS:
        return Order.objects.filter(stripe_session_id=obj["id"]).exists()
    if event_type in INTENT_EVENTS:
        return intent_order(obj["id"]) is not None
    return True


def _text(value):
    return isinstance(value, str) and 0 < len(value) <= 255 and "\x00" not in value


def receive_event(event):
    """Record a verified event and handle it, in one transaction.

    The ledger row goes in first: a redelivery, even one running concurrently,
    inserts nothing (the event id is unique) and answers as a duplicate without
    side effects; a concurrent one waits for the first to commit or roll back.
    An exception rolls everything back, so Stripe's retry starts clean.
    """
    with transaction.atomic():
        ledger = StripeEvent.objects.record(event)
        if ledger is None:
            return "duplicate"
        return _handle(ledger, cause=f"webhook {event['id']}")


def replay_event(event_id):
    """Run a ledger event's handler again (fulfilment is idempotent)."""
    with transaction.atomic():
        ledger = StripeEvent.objects.select_for_update().get(event_id=event_id)
        return _handle(ledger, cause=f"replay of {event_id}")


def retry_deferred_events():
    """Handle again the events kept for an order that was not paid yet (a refund
    that raced its payment's recording); how many were applied. One still without
    its order after DEFERRED_FOR (a refund of another integration's payment on the
    same Stripe account) is ignored, as events about others' sessions are."""
    applied = 0
    deferred = StripeEvent.objects.filter(status=StripeEvent.Status.DEFERRED)
    deferred.filter(received_at__lt=timezone.now() - DEFERRED_FOR).update(
        status=StripeEvent.Status.IGNORED,
        error=f"No order of ours was paid with it within {DEFERRED_FOR.days} days.",
        processed_at=timezone.now(),
    )
    for event_id in deferred.values_list("event_id", flat=True):
        with transaction.atomic():
            ledger = deferred.select_for_update().filter(event_id=event_id).first()
            if ledger is not None:
                applied += _handle(ledger, f"retry of {event_id}") != (
                    StripeEvent.Status.DEFERRED
                )
    return applied


def _handle(ledger, cause):
    handler = HANDLERS.get(ledger.type)
    if ledger.status == StripeEvent.Status.DEFERRED:
        handler = LATE_HANDLERS.get(ledger.type, handler)
    obj = ledger.payload["data"]["object"]
    if handler is None or not _ours(ledger.type, obj):
        ledger.status = StripeEvent.Status.IGNORED
    else:
        outcome = handler(obj, cause)
        ledger.status = (
            StripeEvent.Status.DEFERRED
            if outcome == NOT_YET
            else StripeEvent.Status.PROCESSED
        )
        ledger.error = ""
    ledger.processed_at = timezone.now()
    ledger.save(update_fields=["status", "error", "processed_at"])
    return ledger.status
