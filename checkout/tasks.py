"""The reconcile sweep: what Stripe's webhooks did not deliver, and on-page
checkouts whose hold ended (invoice and email tasks are in orders/tasks.py)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from home.models import PaymentPage
from orders.models import Order
from orders.placement import MIN_SESSION_WINDOW
from orders.status import OrderStatus, transition

from .ending import CheckoutPaid, SessionStillOpen, end_checkout
from .fulfilment import fulfil_order
from .webhooks import retry_deferred_events

logger = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=15)
# Longer than making a session can take, the SDK's retries included.
SESSION_CREATION_GRACE = timedelta(minutes=5)
# An order paid on the shop's page whose PaymentIntent was made.
ON_PAGE_STARTED = Q(payment_page=PaymentPage.ON_PAGE) & ~Q(stripe_payment_intent_id="")
HOLD_ENDED = "Its hold ended before it was paid"


@shared_task
def reconcile_pending_orders(older_than_minutes=None):
    """Fulfil or close orders whose webhook never came."""
    age = (
        timedelta(minutes=older_than_minutes)
        if older_than_minutes is not None
        else RECONCILE_AFTER
    )
    cutoff = timezone.now() - age
    waiting = Order.objects.filter(
        Q(stripe_session_id__isnull=False) | ON_PAGE_STARTED,
        status__in=[OrderStatus.PENDING, OrderStatus.PROCESSING],
        created_at__lte=cutoff,
    )
    changed = 0
    for order in waiting:
        before = order.status
        try:
            order = fulfil_order(order, cause="reconcile task")
        except Exception:
            logger.exception("Reconciling %s failed", order)
            continue
        changed += order is not None and order.status != before
    return (
        changed
        + end_expired_checkouts()
        + _end_sessionless_checkouts()
        + retry_deferred_events()
    )


@shared_task
def end_expired_checkouts():
    """Cancel the PaymentIntents of on-page checkouts whose hold has ended, and
    the orders with them, releasing what they held; how many ended. Stripe expires
    a Checkout Session at its ``expires_at`` itself; a PaymentIntent never
    expires, so this runs every minute (and the payment page checks on load)."""
    ended = 0
    expired = Order.objects.filter(
        ON_PAGE_STARTED,
        status=OrderStatus.PENDING,
        checkout_expires_at__lte=timezone.now(),
    )
    for order in expired:
        try:
            end_checkout(order, "reconcile task", note=HOLD_ENDED)
        except (CheckoutPaid, SessionStillOpen):
            continue
        except Exception:
            logger.exception("Ending the checkout of %s failed", order)
            continue
        ended += 1
    return ended


def _end_sessionless_checkouts():
    """Pending orders that never got their Checkout Session (Stripe was down, the
    shopper left) end once no session can be made for them any more (Stripe wants
    MIN_SESSION_WINDOW left; a retry of the checkout then makes a new order), with
    time for a creation under way to finish: what they hold is released. A session
    made that late is expired at once (checkout_session_url)."""
    ended = 0
    cutoff = timezone.now() + MIN_SESSION_WINDOW - SESSION_CREATION_GRACE
    late = (
        Order.objects.filter(
            status=OrderStatus.PENDING,
            stripe_session_id__isnull=True,
            checkout_expires_at__lt=cutoff,
        )
        .exclude(ON_PAGE_STARTED)
        .values_list("pk", flat=True)
    )
    for pk in late:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status == OrderStatus.PENDING and not order.payment_started:
                transition(
                    order, OrderStatus.CANCELLED, "reconcile task", "No session made"
                )
                order.save()
                ended += 1
    return ended
