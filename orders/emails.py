"""Emails to shoppers about their orders, each recorded for the merchant to see."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from .models import Order, OrderEmail


def send_order_email(order, kind, subject, template, context, attachments=()):
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
        order=order, kind=kind, to=order.email, subject=subject
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
