"""The reconcile sweep: what Stripe's webhooks did not deliver (invoice and email
tasks are in orders/tasks.py)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from orders.models import Order
from orders.placement import MIN_SESSION_WINDOW
from orders.status import OrderStatus, transition

from .fulfilment import fulfil_checkout
from .webhooks import retry_deferred_events

logger = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=15)
# Longer than making a session can take, the SDK's retries included.
SESSION_CREATION_GRACE = timedelta(minutes=5)


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
        status__in=[OrderStatus.PENDING, OrderStatus.PROCESSING],
        stripe_session_id__isnull=False,
        created_at__lte=cutoff,
    ).values_list("stripe_session_id", "status")
    changed = 0
    for session_id, before in waiting:
        try:
            order = fulfil_checkout(session_id, cause="reconcile task")
        except Exception:
            logger.exception("Reconciling %s failed", session_id)
            continue
        changed += order is not None and order.status != before
    return changed + _end_sessionless_checkouts() + retry_deferred_events()


def _end_sessionless_checkouts():
    """Pending orders that never got their Checkout Session (Stripe was down, the
    shopper left) end once no session can be made for them any more (Stripe wants
    MIN_SESSION_WINDOW left; a retry of the checkout then makes a new order), with
    time for a creation under way to finish: what they hold is released. A session
    made that late is expired at once (checkout_session_url)."""
    ended = 0
    cutoff = timezone.now() + MIN_SESSION_WINDOW - SESSION_CREATION_GRACE
    late = Order.objects.filter(
        status=OrderStatus.PENDING,
        stripe_session_id__isnull=True,
        checkout_expires_at__lt=cutoff,
    ).values_list("pk", flat=True)
    for pk in late:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status == OrderStatus.PENDING and not order.stripe_session_id:
                transition(
                    order, OrderStatus.CANCELLED, "reconcile task", "No session made"
                )
                order.save()
                ended += 1
    return ended
