"""Emails to shoppers about their orders, each recorded for the merchant to see."""

from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from .models import Order, OrderEmail


def send_order_email(
    order, kind, subject, template, context, attachments=(), detail=""
):
    """Send ``checkout/email/<template>.txt`` (and ``.html``) to the shopper and
    record it on the order. ``attachments`` are (filename, content, mimetype)."""
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "site_url": settings.SITE_URL,
        **context,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"checkout/email/{template}.txt", context),
        to=[order.email],
    )
    message.attach_alternative(
        render_to_string(f"checkout/email/{template}.html", context), "text/html"
    )
    for attachment in attachments:
        message.attach(*attachment)
    message.send()
    return OrderEmail.objects.create(
        order=order, kind=kind, to=order.email, subject=subject, detail=detail
    )


def send_shipped(order_id):
    """Email the "on its way" message for a shipped order, once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        kind = OrderEmail.Kind.SHIPPED
        if order.shipped_at is None or order.emails.filter(kind=kind).exists():
            return False
        send_order_email(
            order,
            kind,
            f"Your Cellar order {order.reference} is on its way",
            "order_shipped",
            {},
        )
        return True


def send_refunded(order_id):
    """Tell the shopper what Stripe refunded since the last refund email: once
    for each total refunded (the refund's answer and Stripe's event, or a
    redelivered task, send one email), with the amount and whether it is all."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        kind = OrderEmail.Kind.REFUNDED
        told = [Decimal(email.detail) for email in order.emails.filter(kind=kind)]
        refunded = order.amount_refunded
        before = max(told, default=Decimal(0))
        if refunded <= before:
            return False
        in_full = refunded >= order.total
        subject = (
            f"Your Cellar order {order.reference} is refunded"
            if in_full
            else f"Part of your Cellar order {order.reference} is refunded"
        )
        send_order_email(
            order,
            kind,
            subject,
            "order_refunded",
            {"amount": refunded - before, "refunded": refunded, "in_full": in_full},
            detail=str(refunded),
        )
        return True
