"""The merchants' order and event listings in the Wagtail admin."""

import csv
import io

import pytest
from django.test import Client

from checkout.models import Order, OrderStatus
from stripe_emulator import payments, webhooks

from .conftest import check_out, session_id_of


@pytest.fixture
def orders(wines, django_capture_on_commit_callbacks):
    """One paid order (Ada) and one pending (Bob)."""
    made = {}
    for email, name, pay in (
        ("ada@example.com", "Ada Lovelace", True),
        ("bob@example.com", "Bob Pending", False),
    ):
        shopper = Client()
        shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
        session_id = session_id_of(check_out(shopper, email=email, name=name))
        if pay:
            payments.pay(session_id, "4242424242424242")
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.deliver_pending(
                    transport=webhooks.django_client_transport(Client())
                )
        made[email] = Order.objects.get(stripe_session_id=session_id)
    return made


def references(response):
    return sorted(order.reference for order in response.context["object_list"])


def test_merchant_lists_filters_and_searches_orders(staff_client, orders):
    merchant = staff_client("Merchants")
    paid, pending = orders["ada@example.com"], orders["bob@example.com"]

    everything = merchant.get("/admin/orders/")
    only_paid = merchant.get("/admin/orders/", {"status": "paid"})
    by_email = merchant.get("/admin/orders/", {"q": "bob@example"})
    by_reference = merchant.get("/admin/orders/", {"q": paid.reference})

    assert everything.status_code == 200
    assert references(everything) == sorted([paid.reference, pending.reference])
    assert references(only_paid) == [paid.reference]
    assert references(by_email) == [pending.reference]
    assert references(by_reference) == [paid.reference]
    html = everything.content.decode()
    assert f"{paid.invoice.number} (ready)" in html


def test_csv_export_has_money_as_numbers(staff_client, orders):
    merchant = staff_client("Merchants")

    response = merchant.get("/admin/orders/", {"status": "paid", "export": "csv"})

    assert response.status_code == 200
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    assert [(row["Reference"], row["Total"], row["Status"]) for row in rows] == [
        (orders["ada@example.com"].reference, "10.00", "paid")
    ]


def test_inspect_shows_lines_history_invoice_and_payment(staff_client, orders):
    paid = orders["ada@example.com"]

    response = staff_client("Merchants").get(f"/admin/orders/inspect/{paid.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Cart Red 2020" in html and "CART-RED" in html
    assert f"/orders/invoices/{paid.invoice.number}.pdf" in html
    assert (
        f"https://dashboard.stripe.com/test/payments/{paid.stripe_payment_intent_id}"
        in html
    )
    assert f"webhook {paid.history.get().cause.split()[1]}" in html


def test_nobody_adds_or_edits_orders_by_hand(staff_client, orders):
    merchant = staff_client("Merchants")
    paid = orders["ada@example.com"]

    assert merchant.get("/admin/orders/new/").status_code == 302
    assert merchant.get(f"/admin/orders/edit/{paid.pk}/").status_code == 302
    assert merchant.post(f"/admin/orders/delete/{paid.pk}/").status_code == 302
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID


def test_merchants_see_the_stripe_event_ledger(staff_client, orders):
    response = staff_client("Merchants").get("/admin/stripe-events/")

    assert response.status_code == 200
    assert [event.type for event in response.context["object_list"]] == [
        "checkout.session.completed"
    ]


@pytest.mark.parametrize(
    "url", ["/admin/orders/", "/admin/orders/?export=csv", "/admin/stripe-events/"]
)
def test_editors_and_strangers_are_kept_out(staff_client, orders, url):
    assert staff_client("Editors").get(url).status_code == 302
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")


def test_merchants_cannot_edit_pages(staff_client, wines):
    merchant = staff_client("Merchants")

    response = merchant.get(f"/admin/pages/{wines['red'].page_id}/edit/")

    assert response.status_code == 302
