"""Back-in-stock alerts: asked for on a sold-out wine's page, confirmed from the
email that asks (double opt-in: nobody can sign someone else up; a signed-in
shopper's own verified email needs none), and sent once
when the wine can be bought again (``send_due``, by beat)."""

import logging
import secrets
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from products.models import WineVariant

from .models import StockAlert

logger = logging.getLogger(__name__)


def ask(variant, email, verified=False):
    """Record the wish and email the link that confirms it (again, for one not
    confirmed yet). The same answer whether or not it was asked before. An email
    already ``verified`` (a signed-in shopper's own) needs no confirming."""
    email = email.strip().lower()
    confirmed_at = timezone.now() if verified else None
    try:
        with transaction.atomic():
            alert = StockAlert.objects.create(
                variant=variant,
                email=email,
                token=secrets.token_urlsafe(32),
                confirmed_at=confirmed_at,
            )
    except IntegrityError:
        alert = StockAlert.objects.get(variant=variant, email=email)
        if alert.confirmed_at is None and verified:
            StockAlert.objects.filter(pk=alert.pk).update(confirmed_at=confirmed_at)
            alert.confirmed_at = confirmed_at
    if alert.confirmed_at is not None:
        return alert
    _mail(
        alert,
        f"Confirm: tell me when {variant.page.display_name} is back",
        "cart/email/alert_confirm.txt",
        {"link": settings.SITE_URL + reverse("cart:alert", args=[alert.token])},
    )
    return alert


def confirm(token):
    """Confirm an alert by its emailed token; None if there is no such alert."""
    alert = StockAlert.objects.filter(token=token).select_related("variant").first()
    if alert is not None and alert.confirmed_at is None:
        StockAlert.objects.filter(pk=alert.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
    return alert


def send_due():
    """Email each confirmed alert whose wine can be bought again, once; how many."""
    due = StockAlert.objects.filter(
        confirmed_at__isnull=False, notified_at__isnull=True
    ).select_related("variant__page")
    sent = 0
    for alert in due:
        variant = alert.variant
        if not (variant.active and variant.page.live and variant.available > 0):
            continue
        # Claimed before sending: a second sweep at once sends nothing.
        if not StockAlert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()
        ):
            continue
        try:
            _mail(
                alert,
                f"{variant.page.display_name} is back at Cellar",
                "cart/email/alert_back.txt",
                {"link": settings.SITE_URL + variant.page.url},
            )
        except (SMTPException, OSError):
            # Not sent: unclaimed, so the next sweep tries again.
            logger.warning(
                "Back-in-stock email to %s failed", alert.email, exc_info=True
            )
            StockAlert.objects.filter(pk=alert.pk).update(notified_at=None)
            continue
        sent += 1
    return sent


def unsubscribe(token):
    """Forget the alert: nothing more is sent for it. Whether there was one."""
    deleted, _ = StockAlert.objects.filter(token=token).delete()
    return bool(deleted)


def _mail(alert, subject, template, context):
    """An alert's email, with its one-click unsubscribe link (in the text, and as
    the List-Unsubscribe headers mail apps act on: RFC 8058)."""
    stop = settings.SITE_URL + reverse("cart:alert_unsubscribe", args=[alert.token])
    body = render_to_string(
        template,
        {"alert": alert, "variant": alert.variant, "unsubscribe": stop, **context},
    )
    EmailMessage(
        subject,
        body,
        to=[alert.email],
        headers={
            "List-Unsubscribe": f"<{stop}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).send()


def sold_out(variant_id):
    """The variant, if it exists and is sold out (an alert makes sense); else None."""
    variant = (
        WineVariant.objects.filter(pk=variant_id, active=True, page__live=True)
        .select_related("page")
        .first()
    )
    return variant if variant is not None and variant.available <= 0 else None
