"""A merchant finds a paid order in the Wagtail admin, downloads its invoice and
refunds it, in Chromium against the live server."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.models import WineVariant
from stripe_emulator import payments, webhooks

from .conftest import check_out, session_id_of

pytestmark = pytest.mark.browser

EMAIL = "hedy@example.com"
PASSWORD = "merchant-pw-1234"


@pytest.fixture
def paid_order(db_reads, settings):
    """A paid order with its invoice, committed so the live server sees it."""
    variant = (
        WineVariant.objects.filter(active=True, stock__gte=5, page__live=True)
        .order_by("pk")
        .first()
    )
    shopper = Client()
    shopper.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    session_id = session_id_of(check_out(shopper, email=EMAIL, name="Hedy Lamarr"))
    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    order = Order.objects.get(stripe_session_id=session_id)
    merchant = get_user_model().objects.create_user(
        "browser-merchant", password=PASSWORD
    )
    merchant.groups.add(Group.objects.get(name="Merchants"))
    try:
        yield order
    finally:
        Invoice.objects.filter(order=order).delete()
        order.delete()
        Customer.objects.filter(email__iexact=EMAIL).delete()
        merchant.delete()
        WineVariant.objects.filter(pk=variant.pk).update(stock=variant.stock)
        webhooks.deliver_pending(transport=webhooks.RecordingTransport())


def test_merchant_filters_opens_downloads_and_refunds(
    page, shop_server, screenshots, paid_order
):
    order = paid_order
    page.goto(f"{shop_server.url}/admin/login/")
    page.get_by_label("Username").fill("browser-merchant")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Shop").wait_for()
    page.screenshot(path=screenshots / "admin-0-dashboard.png", full_page=True)

    # Paid orders only, through the listing's filter
    page.goto(f"{shop_server.url}/admin/orders/?status=paid")
    row = page.locator("tr", has_text=order.reference)
    row.wait_for()
    assert "Hedy Lamarr" in row.inner_text()
    assert order.invoice.number in row.inner_text()
    page.screenshot(path=screenshots / "admin-1-paid-orders.png", full_page=True)

    row.get_by_role("link", name=order.reference).click()
    page.wait_for_url(f"**/admin/orders/**/{order.pk}/")
    page.get_by_role("heading", name=re.compile(f"Order {order.reference}")).wait_for()
    page.screenshot(path=screenshots / "admin-2-inspect.png", full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{order.invoice.number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    page.goto(f"{shop_server.url}/admin/orders/inspect/{order.pk}/")
    page.get_by_role("link", name="Refund", exact=True).click()
    page.wait_for_url(f"**/admin/orders/refund/{order.pk}/")
    page.screenshot(path=screenshots / "admin-3-refund-confirm.png", full_page=True)
    page.get_by_role("button", name="Refund through Stripe").click()

    page.wait_for_url(f"**/admin/orders/inspect/{order.pk}/")
    page.get_by_text(f"Order {order.reference} is refunded.").wait_for()
    page.get_by_role("heading", name=f"Order {order.reference} · Refunded").wait_for()
    page.screenshot(path=screenshots / "admin-4-refunded.png", full_page=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED

    page.goto(f"{shop_server.url}/admin/shop-reports/sales-by-wine/")
    row = page.locator("tr", has_text=order.lines.get().sku)
    assert row.inner_text().split("\t")[-2:] == ["2", str(order.subtotal)]
    page.screenshot(path=screenshots / "admin-5-sales-by-wine.png", full_page=True)
