"""A shopper signs up, verifies, buys, and sees the order in another browser after
signing in there, in Chromium."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from cart.tests.test_browser import in_stock_variants
from orders.models import Customer, Invoice, Order
from products.models import WineVariant

pytestmark = pytest.mark.browser

EMAIL = "margaret@example.com"
PASSWORD = "a long Cellar password 42"


def test_sign_up_verify_buy_and_see_the_order_on_another_browser(
    browser, page, shop_server, screenshots, db_reads, settings, fill_checkout
):
    settings.SITE_URL = shop_server.url
    [wine] = in_stock_variants(1)
    mail.outbox.clear()
    try:
        # Sign up, then verify from the email
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(shop_server.url + "/accounts/signup/")
        page.get_by_label("Email:").fill(EMAIL)
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_label("Password (again):").fill(PASSWORD)
        page.get_by_role("button", name="Sign Up").click()
        page.wait_for_url("**/accounts/confirm-email/")
        [message] = [m for m in mail.outbox if m.to == [EMAIL]]
        link = re.search(r"(/accounts/confirm-email/[^/\s]+/)", message.body)[1]
        page.goto(shop_server.url + link)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/account/")
        page.screenshot(path=screenshots / "account-1-verified.png", full_page=True)

        # Buy as the signed-in shopper
        page.goto(shop_server.url + wine.page.url)
        page.get_by_role("button", name="Add to cart").click()
        page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()
        page.goto(shop_server.url + "/checkout/")
        assert page.get_by_label("Email").input_value() == EMAIL
        fill_checkout(
            page, EMAIL, "Margaret Hamilton", "1 Apollo Way", "London", "EC1A 1BB", "GB"
        )
        page.locator("[data-checkout-submit]").click()
        page.wait_for_url(re.compile(r".*/_stripe/pay/cs_test_\w+$"))
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Name on card").fill("Margaret Hamilton")
        page.get_by_role("button", name=re.compile(r"^Pay ")).first.click()
        page.wait_for_url(re.compile(r".*/orders/[\w-]+/$"))
        page.locator("[data-timeline] [data-step=paid]").wait_for()
        page.screenshot(path=screenshots / "account-order-390.png", full_page=True)
        order = Order.objects.get(email=EMAIL)
        assert order.user.email == EMAIL

        # Another browser: sign in, and the order is there
        other = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            laptop = other.new_page()
            laptop.goto(shop_server.url + "/account/")
            laptop.wait_for_url("**/accounts/login/**")
            laptop.get_by_label("Email:").fill(EMAIL)
            laptop.get_by_label("Password:").fill(PASSWORD)
            laptop.get_by_role("button", name="Sign In").click()
            laptop.wait_for_url("**/account/")
            entry = laptop.locator(f"[data-order='{order.reference}']")
            assert entry.locator("[data-account-order-status]").inner_text() == "Paid"
            laptop.screenshot(path=screenshots / "account-2-orders.png", full_page=True)
        finally:
            other.close()
    finally:
        # This test commits: leave the shared catalogue as it found it.
        orders = Order.objects.filter(email=EMAIL)
        Invoice.objects.filter(order__in=orders).delete()
        orders.delete()
        Customer.objects.for_email(EMAIL).delete()
        EmailAddress.objects.filter(email=EMAIL).delete()
        get_user_model().objects.filter(email=EMAIL).delete()
        WineVariant.objects.filter(pk=wine.pk).update(stock=wine.stock)
