"""Invoices: a gapless number a year, a PDF from a template, one email."""

import base64
import mimetypes

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from home.models import ShopSettings

from .emails import send_order_email
from .models import Invoice, InvoiceCounter, Order, OrderEmail, invoice_upload_to


def invoice_for(order_id):
    """The order's invoice, created once, with the next number of the year.

    The counter row is locked inside the transaction that creates the invoice, so
    concurrent invoices never share or skip a number.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        existing = Invoice.objects.filter(order=order).first()
        if existing is not None:
            return existing
        if not order.is_paid:
            raise ValueError(f"Order {order} is not paid; it gets no invoice.")
        today = timezone.localdate()
        InvoiceCounter.objects.get_or_create(year=today.year)
        counter = InvoiceCounter.objects.select_for_update().get(year=today.year)
        counter.last_number += 1
        counter.save()
        return Invoice.objects.create(
            order=order,
            year=today.year,
            sequence=counter.last_number,
            number=f"INV-{today.year}-{counter.last_number:06d}",
            issued_on=today,
        )


def render_pdf(invoice):
    from weasyprint import HTML

    order = invoice.order
    shop = ShopSettings.load()
    html = render_to_string(
        "checkout/invoice.html",
        {
            "invoice": invoice,
            "order": order,
            "lines": list(order.lines.all()),
            "shop": shop,
            "logo": _logo_data_uri(shop),
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def _logo_data_uri(shop):
    """The logo inlined, so rendering needs neither a URL nor a public file."""
    if not shop.logo:
        return None
    try:
        with shop.logo.open_file() as image:
            data = image.read()
    except OSError:
        return None
    kind = mimetypes.guess_type(shop.logo.file.name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def produce(invoice_id):
    """Render and store the PDF unless a worker already did.

    The render (the slow part) holds no lock: on SQLite a transaction locks the
    whole database, and every payment would wait behind a PDF. The file is stored
    under a row lock, so two workers at once leave one file.
    """
    invoice = Invoice.objects.select_related("order").get(pk=invoice_id)
    if invoice.status == Invoice.Status.READY:
        return invoice, False
    pdf = render_pdf(invoice)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if invoice.status == Invoice.Status.READY:
            return invoice, False
        invoice.attempts += 1
        # Numbers are unique, so a file of this name is this invoice's (an earlier
        # render, or an attempt rolled back): replace it rather than add a copy.
        storage = invoice.pdf.storage
        name = invoice_upload_to(invoice, invoice.filename)
        if storage.exists(name):
            storage.delete(name)
        invoice.pdf.save(invoice.filename, ContentFile(pdf), save=False)
        invoice.status = Invoice.Status.READY
        invoice.save()
        return invoice, True


def record_failure(invoice_id, error):
    Invoice.objects.filter(pk=invoice_id).exclude(status=Invoice.Status.READY).update(
        status=Invoice.Status.FAILED,
        last_error=f"{type(error).__name__}: {error}",
        attempts=F("attempts") + 1,
    )


def send(invoice_id, force=False):
    """Email the paid-order confirmation with the PDF attached, once."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .select_related("order")
            .get(pk=invoice_id)
        )
        if invoice.status != Invoice.Status.READY or (invoice.emailed_at and not force):
            return False
        order = invoice.order
        with invoice.pdf.open("rb") as pdf:
            attachment = (invoice.filename, pdf.read(), "application/pdf")
        send_order_email(
            order,
            OrderEmail.Kind.PAID,
            f"Your Cellar order {order.reference} is paid",
            "order_paid",
            {"invoice": invoice},
            attachments=[attachment],
        )
        invoice.emailed_at = timezone.now()
        invoice.save(update_fields=["emailed_at", "updated_at"])
        return True
