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


def last_told_refund(emails):
    """The refunded total the shopper was last told of (0 if never): each refund
    email, and each refund-failed email, carries the total it left."""
    told = [
        email
        for email in emails
        if email.kind in (OrderEmail.Kind.REFUNDED, OrderEmail.Kind.REFUND_FAILED)
    ]
    latest = max(told, key=lambda email: (email.sent_at, email.pk), default=None)
    return Decimal(latest.detail) if latest is not None else Decimal(0)


def send_refunded(order_id):
    """Tell the shopper how the refunded total changed since they were last told:
    a refund (of part or all), with its amount, or a refund Stripe failed after
    confirming it. Once for each change: the refund's answer and Stripe's event,
    or a redelivered task, send one email."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        refunded = order.amount_refunded
        before = last_told_refund(order.emails.all())
        if refunded == before:
            return False
        if refunded < before:
            send_order_email(
                order,
                OrderEmail.Kind.REFUND_FAILED,
                f"A refund of your Cellar order {order.reference} did not go through",
                "order_refund_failed",
                {"amount": before - refunded, "refunded": refunded},
                detail=str(refunded),
            )
            return True
        in_full = refunded >= order.total
        subject = (
            f"Your Cellar order {order.reference} is refunded"
            if in_full
            else f"Part of your Cellar order {order.reference} is refunded"
        )
        send_order_email(
            order,
            OrderEmail.Kind.REFUNDED,
            subject,
            "order_refunded",
            {"amount": refunded - before, "refunded": refunded, "in_full": in_full},
            detail=str(refunded),
        )
        return True
