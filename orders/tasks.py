"""Invoices and emails, made and sent by a worker. The tasks keep the names they
had in checkout/tasks.py, so queued work and beat's schedule still find them."""

import logging
from datetime import timedelta
from smtplib import SMTPException

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from core.queue import enqueue

from .emails import last_told_refund, send_refunded, send_shipped
from .invoices import invoice_for, produce, record_failure, send
from .models import Invoice, Order
from .status import SOLD

logger = logging.getLogger(__name__)


# A killed worker's task runs again (acks_late + reject_on_worker_lost); failures
# retry with exponential back-off, capped; a hung render is stopped.
INVOICE_TASK = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 6,
    "soft_time_limit": 60,
    "time_limit": 90,
}


def backoff(task):
    """2, 4, 8 … seconds between tries, at most five minutes."""
    return min(2 ** (task.request.retries + 1), 300)


@shared_task(name="checkout.tasks.generate_invoice", **INVOICE_TASK)
def generate_invoice(self, order_id):
    """Create the order's invoice and PDF (once), then queue its email."""
    invoice = invoice_for(order_id)
    try:
        invoice, _ = produce(invoice.pk)
    except Exception as error:
        record_failure(invoice.pk, error)
        raise self.retry(exc=error, countdown=backoff(self)) from error
    if not invoice.emailed_at:
        enqueue(email_invoice, invoice.pk)
    return invoice.number


@shared_task(name="checkout.tasks.email_invoice", **INVOICE_TASK)
def email_invoice(self, invoice_id, force=False):
    """Email the invoice once; ``force`` sends it again (a merchant's resend)."""
    try:
        return send(invoice_id, force=force)
    except (SMTPException, OSError) as error:
        Invoice.objects.filter(pk=invoice_id).update(
            last_error=f"{Invoice.EMAIL_ERROR}{type(error).__name__}: {error}"
        )
        raise self.retry(exc=error, countdown=backoff(self)) from error


@shared_task(name="checkout.tasks.email_shipped", **INVOICE_TASK)
def email_shipped(self, order_id):
    """Tell the shopper the order left, once (a redelivered task sends nothing)."""
    try:
        return send_shipped(order_id)
    except (SMTPException, OSError) as error:
        raise self.retry(exc=error, countdown=backoff(self)) from error


@shared_task(name="orders.tasks.email_refunded", **INVOICE_TASK)
def email_refunded(self, order_id):
    """Tell the shopper of a refund, once per amount refunded."""
    try:
        return send_refunded(order_id)
    except (SMTPException, OSError) as error:
        raise self.retry(exc=error, countdown=backoff(self)) from error


@shared_task(name="checkout.tasks.queue_missing_invoices")
def queue_missing_invoices(older_than_minutes=2):
    """Paid orders whose invoice or email went missing (a lost task, a broker that
    was down when the order was paid) are queued again."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    paid = Order.objects.filter(status__in=SOLD, paid_at__lte=cutoff)
    missing = paid.exclude(
        invoice__status=Invoice.Status.READY, invoice__emailed_at__isnull=False
    ).values_list("pk", flat=True)
    queued = 0
    for order_id in missing:
        generate_invoice.delay(order_id)
        queued += 1
    return queued + queue_missing_refund_emails(cutoff)


# Refund emails lost with their task are sent again for this long after the refund.
REFUND_EMAIL_SWEEP = timedelta(days=7)


def queue_missing_refund_emails(cutoff):
    """Orders refunded, or whose refund failed (before ``cutoff``, within the
    sweep's week), whose shopper was not told of the latest refunded total: their
    email is queued again."""
    week = timezone.now() - REFUND_EMAIL_SWEEP
    recent = Order.objects.filter(
        Q(refunded_at__lte=cutoff, refunded_at__gte=week)
        | Q(refund_failed_at__lte=cutoff, refund_failed_at__gte=week)
    ).prefetch_related("emails")
    queued = 0
    for order in recent:
        if last_told_refund(order.emails.all()) != order.amount_refunded:
            email_refunded.delay(order.pk)
            queued += 1
    return queued
