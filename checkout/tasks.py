"""The reconcile sweep: what Stripe's webhooks did not deliver (invoice and email
tasks are in orders/tasks.py)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from orders.models import Order
from orders.status import OrderStatus

from .fulfilment import fulfil_checkout
from .webhooks import retry_deferred_events

logger = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=15)


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
    return changed + retry_deferred_events()
