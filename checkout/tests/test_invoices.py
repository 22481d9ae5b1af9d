"""Invoices: numbered, rendered, stored privately, emailed once, downloadable."""

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
import weasyprint
from django.core import mail
from django.core.management import call_command
from django.test import Client

from cellar.celery import app as celery_app
from coupons.models import Coupon
from orders.invoices import invoice_for
from orders.models import Invoice, Order
from orders.status import OrderStatus
from orders.tasks import generate_invoice, queue_missing_invoices
from stripe_emulator import payments, webhooks

from .backends import FlakyEmailBackend
from .conftest import check_out, session_id_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "invoices"


def pay(client, session_id, capture):
    payments.pay(session_id, "4242424242424242")
    with capture(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    return Order.objects.get(stripe_session_id=session_id)


@pytest.fixture
def paid_order(shopper, django_capture_on_commit_callbacks):
    """A paid order of 2 × red and 1 × white with 10% off: invoice and email made."""
    Coupon.objects.create(
        code="TENOFF", description="10% off", kind="percent", value=10
    )
    shopper.post("/cart/coupon/", {"code": "TENOFF"})
    session_id = session_id_of(check_out(shopper))
    return pay(shopper, session_id, django_capture_on_commit_callbacks)


def pdf_text(invoice):
    with invoice.pdf.open("rb") as pdf:
        result = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=pdf.read(),
            capture_output=True,
            check=True,
        )
    return result.stdout.decode()


def test_a_paid_order_gets_its_invoice_and_one_email(paid_order):
    invoice = Invoice.objects.get(order=paid_order)

    assert invoice.status == Invoice.Status.READY
    assert invoice.number == f"INV-{invoice.year}-{invoice.sequence:06d}"
    assert invoice.pdf.name == f"invoices/{invoice.year}/{invoice.number}.pdf"
    assert invoice.emailed_at is not None
    [message] = mail.outbox
    assert message.subject == f"Your Cellar order {paid_order.reference} is paid"
    assert message.to == ["ada@example.com"]
    assert f"Your invoice {invoice.number} is attached." in message.body
    assert message.alternatives[0][1] == "text/html"
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")


def test_the_pdf_says_everything_a_merchant_must(paid_order):
    invoice = Invoice.objects.get(order=paid_order)

    text = pdf_text(invoice)

    for expected in [
        f"Invoice {invoice.number}",
        paid_order.reference,
        "Cellar Wine Merchants Ltd",
        "12 Vintners' Row",
        "US 94-1234567",
        "Ada Lovelace",
        "12 Analytical Row",
        "Cart Red 2020",
        "CART-RED",
        "Cart White 2020",
        "CART-WHITE",
        "Discount (TENOFF)",
        "−4.55",
        "45.50",
        "Total USD",
        "40.95",
        paid_order.stripe_payment_intent_id,
    ]:
        assert expected in text, expected
    assert "2 10.00 20.00" in " ".join(text.split())
    assert "1 25.50 25.50" in " ".join(text.split())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = ARTIFACTS / f"{invoice.number}.pdf"
    with invoice.pdf.open("rb") as pdf:
        pdf_path.write_bytes(pdf.read())
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            pdf_path,
            pdf_path.with_suffix(""),
        ],
        check=True,
    )
    assert list(ARTIFACTS.glob(f"{invoice.number}*.png"))


def test_running_the_task_again_changes_nothing(
    paid_order, django_capture_on_commit_callbacks
):
    invoice = Invoice.objects.get(order=paid_order)

    with django_capture_on_commit_callbacks(execute=True):
        assert generate_invoice.delay(paid_order.pk).get() == invoice.number
        assert generate_invoice.delay(paid_order.pk).get() == invoice.number

    assert Invoice.objects.filter(order=paid_order).count() == 1
    assert len(mail.outbox) == 1


def test_an_unpaid_order_gets_no_invoice(placed):
    client, order, session_id = placed

    with pytest.raises(ValueError, match="is not paid"):
        invoice_for(order.pk)
    assert Invoice.objects.count() == 0


def test_weasyprint_failing_once_is_retried(
    shopper, monkeypatch, django_capture_on_commit_callbacks
):
    real_write_pdf = weasyprint.HTML.write_pdf
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("font cache locked")
        return real_write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", flaky)
    order = pay(
        shopper, session_id_of(check_out(shopper)), django_capture_on_commit_callbacks
    )

    invoice = Invoice.objects.get(order=order)
    assert (invoice.status, invoice.attempts) == (Invoice.Status.READY, 2)
    assert invoice.last_error == "OSError: font cache locked"
    assert len(calls) == 2
    assert len(mail.outbox) == 1


def test_smtp_failing_twice_sends_one_email(
    shopper, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "checkout.tests.backends.FlakyEmailBackend"
    FlakyEmailBackend.failures_left, FlakyEmailBackend.attempts = 2, 0

    order = pay(
        shopper, session_id_of(check_out(shopper)), django_capture_on_commit_callbacks
    )

    invoice = Invoice.objects.get(order=order)
    assert FlakyEmailBackend.attempts == 3
    assert len(mail.outbox) == 1
    assert invoice.emailed_at is not None
    assert invoice.last_error == (
        "Email: SMTPServerDisconnected: Connection unexpectedly closed"
    )


def test_a_broker_down_when_paid_leaves_the_order_paid_and_the_sweep_catches_up(
    shopper, django_capture_on_commit_callbacks
):
    session_id = session_id_of(check_out(shopper))
    payments.pay(session_id, "4242424242424242")
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, "redis://127.0.0.1:1/0"
    try:
        with django_capture_on_commit_callbacks(execute=True):
            [status] = webhooks.deliver(
                webhooks.pending_events()[0],
                transport=webhooks.django_client_transport(Client()),
            )
    finally:
        conf.task_always_eager, conf.broker_url = saved

    order = Order.objects.get(stripe_session_id=session_id)
    assert status == 200
    assert order.status == OrderStatus.PAID
    assert Invoice.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert queue_missing_invoices(older_than_minutes=0) == 1
    assert Invoice.objects.get(order=order).status == Invoice.Status.READY
    assert len(mail.outbox) == 1
    assert queue_missing_invoices(older_than_minutes=0) == 0


def test_numbers_run_per_year_and_restart_at_one(
    wines, django_capture_on_commit_callbacks
):
    def order_at(moment):
        with time_machine.travel(moment):
            client = Client()
            client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
            session_id = session_id_of(check_out(client))
            return pay(client, session_id, django_capture_on_commit_callbacks)

    december = order_at(dt.datetime(2031, 12, 31, 23, 0, tzinfo=dt.UTC))
    january = order_at(dt.datetime(2032, 1, 1, 0, 30, tzinfo=dt.UTC))

    assert december.invoice.number == "INV-2031-000001"
    assert january.invoice.number == "INV-2032-000001"


class TestDownloads:
    def test_the_shopper_downloads_with_the_order_link(self, paid_order):
        invoice = paid_order.invoice

        response = Client().get(f"/orders/{paid_order.token}/invoice.pdf")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            f'attachment; filename="{invoice.number}.pdf"'
        )
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        page = Client().get(f"/orders/{paid_order.token}/").content.decode()
        assert f"Download invoice {invoice.number} (PDF)" in page

    def test_others_get_404(self, paid_order, wines, staff_client):
        stranger = Client()
        stranger.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
        session_id_of(check_out(stranger))
        other = Order.objects.exclude(pk=paid_order.pk).get()
        as_editor = staff_client("Editors")
        number = paid_order.invoice.number

        assert Client().get(f"/orders/{other.token}/invoice.pdf").status_code == 404
        assert Client().get(f"/orders/{paid_order.pk}/invoice.pdf").status_code == 404
        assert Client().get(f"/orders/invoices/{number}.pdf").status_code == 404
        assert as_editor.get(f"/orders/invoices/{number}.pdf").status_code == 404
        assert Client().get("/media/invoices/").status_code == 404

    def test_merchants_download_any_invoice(self, paid_order, staff_client):
        client = staff_client("Merchants")

        response = client.get(f"/orders/invoices/{paid_order.invoice.number}.pdf")

        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"


def test_support_commands(paid_order, capsys):
    invoice = paid_order.invoice

    call_command("regenerate_invoice", paid_order.reference)
    call_command("resend_invoice", paid_order.reference)

    out = capsys.readouterr().out
    assert f"Regenerated {invoice.number} for order {paid_order.reference}." in out
    assert f"Sent {invoice.number} to ada@example.com." in out
    assert len(mail.outbox) == 2
    regenerated = Invoice.objects.get(pk=invoice.pk)
    assert regenerated.attempts == 2
    assert regenerated.pdf.name == invoice.pdf.name  # replaced, not copied
    assert Decimal(pdf_text(invoice).split("Total USD")[1].split()[0]) == Decimal(
        "40.95"
    )
