import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Order, OrderStatus

logger = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=15)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def send_order_confirmation(self, order_id):
    """Tell the shopper the order is paid, once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.confirmation_sent_at or not order.is_paid:
            return False
        context = {"order": order, "site_url": settings.SITE_URL}
        send_mail(
            subject=f"Your Cellar order {order.reference} is paid",
            message=render_to_string("checkout/email/order_paid.txt", context),
            from_email=None,
            recipient_list=[order.email],
        )
        order.confirmation_sent_at = timezone.now()
        order.save(update_fields=["confirmation_sent_at"])
        return True


@shared_task
def reconcile_pending_orders(older_than_minutes=None):
    """Fulfil or close orders whose webhook never came."""
    from .fulfilment import fulfil_checkout

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
    ).values_list("stripe_session_id", flat=True)
    changed = 0
    for session_id in waiting:
        before = Order.objects.get(stripe_session_id=session_id).status
        try:
            order = fulfil_checkout(session_id, cause="reconcile task")
        except Exception:
            logger.exception("Reconciling %s failed", session_id)
            continue
        changed += order is not None and order.status != before
    return changed
