"""A paid order whose invoice or email went missing: the shopper is told the truth,
the merchant finds it in one filter and mends it with one action."""

import re

import pytest
from django.core import mail

from orders.models import Invoice, OrderEmail


@pytest.fixture
def merchant(staff_client):
    return staff_client("Merchants")


@pytest.fixture
def lost(buy):
    """A paid order whose invoice task never ran (a lost task, a crash)."""
    order = buy(email="lost@example.com")
    Invoice.objects.filter(order=order).delete()
    OrderEmail.objects.filter(order=order).delete()
    mail.outbox.clear()
    return order


def progress(client, order):
    page = client.get(f"/orders/{order.token}/").content.decode()
    match = re.search(r'data-invoice-progress="(\w+)">\s*([^<]+?)\s*</p>', page)
    return match.groups() if match else None, "data-invoice-link" in page


def test_the_order_page_says_where_the_invoice_is(client, buy):
    order = buy(email="ada@example.com")
    invoice = Invoice.objects.get(order=order)
    sent = Invoice.objects.filter(pk=invoice.pk)

    assert progress(client, order) == (
        ("sent", "Your confirmation and invoice were emailed to ada@example.com."),
        True,
    )
    sent.update(emailed_at=None)
    assert progress(client, order)[0][0] == "mailing"
    sent.update(last_error="Email: SMTPDataError: (451, b'busy')")
    assert progress(client, order) == (
        (
            "mail_retrying",
            "Your invoice is ready. Sending the confirmation to ada@example.com "
            "failed a moment ago and is being tried again.",
        ),
        True,
    )
    sent.update(status=Invoice.Status.FAILED, last_error="OSError: disk full")
    assert progress(client, order) == (
        (
            "retrying",
            "Making your invoice failed a moment ago and is being tried again; "
            "we will email it to ada@example.com once it is ready.",
        ),
        False,
    )
    sent.update(status=Invoice.Status.PENDING)
    assert progress(client, order)[0][0] == "making"
    invoice.delete()
    assert progress(client, order) == (
        (
            "making",
            "Your invoice is being made; we will email it to ada@example.com "
            "with your confirmation.",
        ),
        False,
    )


def test_an_unpaid_order_promises_no_invoice(client, placed):
    _, order, _ = placed

    assert progress(client, order) == (None, False)


def test_the_merchant_finds_a_paid_order_without_invoice(merchant, lost, buy):
    # Given a paid order without an invoice, and one whose invoice was sent
    fine = buy(email="fine@example.com")

    # When the merchant filters orders by invoice
    missing = merchant.get("/admin/orders/?invoice=missing").content.decode()
    sent = merchant.get("/admin/orders/?invoice=sent").content.decode()

    # Then each list holds exactly its order, and the missing one says so
    assert lost.reference in missing and fine.reference not in missing
    assert fine.reference in sent and lost.reference not in sent
    assert re.search(r">\s*Missing\s*<", missing)


def test_regenerate_makes_and_mails_a_missing_invoice_once(
    merchant, lost, django_capture_on_commit_callbacks
):
    # Given the order's page offers the action
    inspect = merchant.get(f"/admin/orders/inspect/{lost.pk}/").content.decode()
    assert f"/admin/orders/regenerate_invoice/{lost.pk}/" in inspect

    # When the merchant confirms it
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(f"/admin/orders/regenerate_invoice/{lost.pk}/")

    # Then the order has its invoice and the shopper one email with it
    assert response.status_code == 302
    invoice = Invoice.objects.get(order=lost)
    assert invoice.status == Invoice.Status.READY and invoice.emailed_at is not None
    assert [(m.to, [a[0] for a in m.attachments]) for m in mail.outbox] == [
        (["lost@example.com"], [invoice.filename])
    ]
    merchant.get("/admin/")  # shows (and so clears) the action's message
    missing = merchant.get("/admin/orders/?invoice=missing").content.decode()
    assert lost.reference not in missing
