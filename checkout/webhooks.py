"""Stripe webhook events: verified, recorded once in the ledger, then handled."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from .fulfilment import apply_refund, fail_payment, fulfil_checkout
from .models import StripeEvent

logger = logging.getLogger(__name__)

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
}


def receive_event(event):
    """Record a verified event and handle it, in one transaction.

    The ledger row goes in first: a redelivery, even one running concurrently,
    fails on the unique event id and answers as a duplicate without side effects.
    An exception rolls everything back, so Stripe's retry starts clean.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                ledger = StripeEvent.objects.create(
                    event_id=event["id"], type=event["type"], payload=event
                )
        except IntegrityError:
            return "duplicate"
        return _handle(ledger, cause=f"webhook {event['id']}")


def replay_event(event_id):
    """Run a ledger event's handler again (fulfilment is idempotent)."""
    with transaction.atomic():
        ledger = StripeEvent.objects.select_for_update().get(event_id=event_id)
        return _handle(ledger, cause=f"replay of {event_id}")


def _handle(ledger, cause):
    handler = HANDLERS.get(ledger.type)
    if handler is None:
        ledger.status = StripeEvent.Status.IGNORED
    else:
        handler(ledger.payload["data"]["object"], cause)
        ledger.status = StripeEvent.Status.PROCESSED
        ledger.error = ""
    ledger.processed_at = timezone.now()
    ledger.save()
    return ledger.status
