"""What happens after payment, walked in Chromium against the live server: a guest
order joins an account only once its email is verified; Buy again with a wine sold
out; the merchant ships with tracking, then refunds part and the rest, in the
Wagtail admin, and the shopper sees each step on the order page and is emailed
once for each."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from cart.tests.test_browser import in_stock_variants
from checkout.tests.conftest import check_out, session_id_of
from orders.models import Customer, Invoice, Order, OrderEmail
from orders.status import OrderStatus
from products.models import WineVariant
from stripe_emulator import payments, webhooks

pytestmark = pytest.mark.browser

PASSWORD = "a long Cellar password 42"
MERCHANT = "after-payment-merchant"


def deliver_stripe_events():
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))


@pytest.fixture
def shop(db_reads, settings, shop_server):
    """Paid orders placed as guests, committed for the live server, and a merchant;
    all of it, and the stock it sold, put back after the test."""
    settings.SITE_URL = shop_server.url
    placed, emails, stock = [], set(), {}

    def pay_for(lines, email, name="Grace Hopper"):
        shopper = Client()
        for variant, quantity in lines:
            stock.setdefault(variant.pk, variant.stock)
            shopper.post("/cart/add/", {"variant": variant.pk, "quantity": quantity})
        session_id = session_id_of(check_out(shopper, email=email, name=name))
        payments.pay(session_id, "4242424242424242")
        deliver_stripe_events()
        order = Order.objects.get(stripe_session_id=session_id)
        assert order.status == OrderStatus.PAID
        placed.append(order.pk)
        emails.add(email)
        return order

    merchant = get_user_model().objects.create_user(MERCHANT, password=PASSWORD)
    merchant.groups.add(Group.objects.get(name="Merchants"))
    mail.outbox.clear()
    try:
        yield pay_for
    finally:
        orders = Order.objects.filter(pk__in=placed)
        Invoice.objects.filter(order__in=orders).delete()
        orders.delete()
        for email in emails:
            Customer.objects.for_email(email).delete()
            EmailAddress.objects.filter(email__iexact=email).delete()
            get_user_model().objects.filter(email__iexact=email).delete()
        merchant.delete()
        for pk, count in stock.items():
            WineVariant.objects.filter(pk=pk).update(stock=count)
        # Whatever the test left undelivered must not reach the next one
        webhooks.deliver_pending(transport=webhooks.RecordingTransport())


def sent_to(email, subject_start):
    return [
        message
        for message in mail.outbox
        if message.to == [email] and message.subject.startswith(subject_start)
    ]


def sign_in_to_admin(page, url):
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill(MERCHANT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Shop").wait_for()


def test_a_guest_order_joins_the_account_only_once_its_email_is_verified(
    page, shop_server, screenshots, shop
):
    email = "grace@example.com"
    [wine] = in_stock_variants(1)
    order = shop([(wine, 1)], email=email)
    mail.outbox.clear()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(shop_server.url + "/accounts/signup/")
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    # Signed up, not verified: not signed in, and the order is not the account's
    page.goto(shop_server.url + "/account/")
    page.wait_for_url("**/accounts/login/**")
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/confirm-email/")
    assert Order.objects.get(pk=order.pk).user is None

    # Opening the link is not enough: confirming is a POST
    [message] = sent_to(email, "Cellar: Please Confirm")
    link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", message.body)[1]
    page.goto(shop_server.url + link)
    page.get_by_role("button", name="Confirm").wait_for()
    assert Order.objects.get(pk=order.pk).user is None
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/account/")

    user = get_user_model().objects.get(email=email)
    assert Order.objects.get(pk=order.pk).user == user
    entry = page.locator(f"[data-order='{order.reference}']")
    assert entry.locator("[data-account-order-status]").inner_text() == "Paid"
    page.screenshot(
        path=screenshots / "account-3-guest-order-claimed.png", full_page=True
    )


def test_buy_again_with_one_wine_sold_out(page, shop_server, screenshots, shop):
    email = "katherine@example.com"
    kept, sold_out = in_stock_variants(2)
    order = shop([(kept, 2), (sold_out, 1)], email=email, name="Katherine Johnson")
    WineVariant.objects.filter(pk=sold_out.pk).update(stock=0)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{shop_server.url}/orders/{order.token}/")
    page.get_by_role("button", name="Buy these wines again").click()
    page.wait_for_url("**/cart/")

    page.get_by_text(
        f"The wines of order {order.reference} are in your cart."
    ).wait_for()
    told = page.locator("[data-messages] .message").all_inner_texts()
    line = order.lines.get(sku=sold_out.sku)
    assert told[0] == (
        f"{line.wine_name} ({line.variant_label}): not added. "
        f"{sold_out.page.title} ({sold_out.label}) is sold out."
    )
    assert told[1] == f"The wines of order {order.reference} are in your cart."
    assert len(told) == 2
    cart = page.request.get(f"{shop_server.url}/cart/api/").json()
    assert [(line["sku"], line["quantity"]) for line in cart["items"]] == [
        (kept.sku, 2)
    ]
    page.screenshot(path=screenshots / "account-4-buy-again.png", full_page=True)


def test_merchant_ships_refunds_part_then_the_rest_and_the_shopper_hears_each_once(
    browser, page, shop_server, screenshots, shop
):
    email = "dorothy@example.com"
    [wine] = in_stock_variants(1)
    order = shop([(wine, 2)], email=email, name="Dorothy Vaughan")
    half = (order.total / 2).quantize(order.total)
    mail.outbox.clear()

    sign_in_to_admin(page, shop_server.url)
    inspect = f"{shop_server.url}/admin/orders/inspect/{order.pk}/"

    # Ship with UPS and a tracking number
    page.goto(inspect)
    page.get_by_role("link", name="Mark shipped", exact=True).click()
    page.get_by_label("Carrier").select_option("ups")
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.screenshot(path=screenshots / "admin-6-ship.png", full_page=True)
    page.get_by_role("button", name="Mark shipped and tell the shopper").click()
    page.wait_for_url(inspect)
    page.get_by_text(f"Order {order.reference} is marked shipped").wait_for()

    # The shopper's page, on a phone: on its way, with the carrier's tracking link
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        shopper = phone.new_page()
        order_page = f"{shop_server.url}/orders/{order.token}/"
        shopper.goto(order_page)
        assert shopper.locator("[data-order-status]").inner_text() == (
            "On its way with UPS."
        )
        link = shopper.locator("[data-timeline] [data-step=shipped] a")
        assert link.inner_text() == "1Z999AA10123456784"
        assert link.get_attribute("href") == (
            "https://www.ups.com/track?tracknum=1Z999AA10123456784"
        )
        shopper.screenshot(path=screenshots / "order-shipped-390.png", full_page=True)
        [shipped] = sent_to(email, f"Your Cellar order {order.reference} is on its way")
        assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in shipped.body

        # A partial refund: the API's answer first, then Stripe's charge.refunded
        page.goto(inspect)
        page.get_by_role("link", name="Refund", exact=True).click()
        page.get_by_label("Amount").fill(str(half))
        page.get_by_role("button", name="Refund through Stripe").click()
        page.wait_for_url(inspect)
        page.get_by_text(
            f"{half} {order.currency_code} of {order.reference}"
        ).wait_for()
        deliver_stripe_events()
        assert Order.objects.get(pk=order.pk).amount_refunded == half

        # Then the rest
        page.get_by_role("link", name="Refund", exact=True).click()
        page.get_by_role("button", name="Refund through Stripe").click()
        page.wait_for_url(inspect)
        page.get_by_text(f"Order {order.reference} is refunded.").wait_for()
        deliver_stripe_events()
        page.screenshot(
            path=screenshots / "admin-7-refunded-in-two.png", full_page=True
        )

        refreshed = Order.objects.get(pk=order.pk)
        assert refreshed.status == OrderStatus.REFUNDED
        assert refreshed.amount_refunded == order.total
        shopper.goto(order_page)
        assert shopper.locator("[data-order-status]").inner_text() == "Refunded."
        assert (
            shopper.locator("[data-step=refunded]")
            .inner_text()
            .endswith(f"Refunded in full: ${order.total}")
        ), shopper.locator("[data-step=refunded]").inner_text()
        shopper.screenshot(path=screenshots / "order-refunded-390.png", full_page=True)
    finally:
        phone.close()

    # One email for each step, whatever came first
    part = sent_to(email, f"Part of your Cellar order {order.reference} is refunded")
    rest = sent_to(email, f"Your Cellar order {order.reference} is refunded")
    assert len(part) == 1 and len(rest) == 1
    assert f"{half}" in part[0].body
    assert [
        (sent.kind, sent.detail)
        for sent in OrderEmail.objects.filter(order=order).order_by("pk")
    ] == [
        (OrderEmail.Kind.PAID, ""),
        (OrderEmail.Kind.SHIPPED, ""),
        (OrderEmail.Kind.REFUNDED, str(half)),
        (OrderEmail.Kind.REFUNDED, str(order.total)),
    ]
