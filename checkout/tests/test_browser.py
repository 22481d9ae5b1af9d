"""A shopper buys two wines through the emulator's payment page, in Chromium."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from cart.tests.test_browser import in_stock_variants
from coupons.models import Coupon
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.models import WineVariant

pytestmark = pytest.mark.browser


def test_shopper_applies_a_coupon_and_pays_with_4242_after_a_declined_card(
    page, shop_server, screenshots, db_reads, settings, fill_checkout
):
    settings.SITE_URL = shop_server.url  # where the emulator sends the shopper
    first, second = in_stock_variants(2)
    try:
        buy(page, shop_server, screenshots, first, second, fill_checkout)
    finally:
        # This test commits: leave the shared catalogue as it found it.
        Invoice.objects.filter(
            order__in=Order.objects.filter(email="grace@example.com")
        ).delete()
        Order.objects.filter(email="grace@example.com").delete()
        Customer.objects.for_email("grace@example.com").delete()
        Coupon.objects.filter(code="WELCOME10").update(times_used=0)
        for variant in (first, second):
            WineVariant.objects.filter(pk=variant.pk).update(stock=variant.stock)


def buy(page, shop_server, screenshots, first, second, fill_checkout):
    for variant in (first, second):
        page.goto(shop_server.url + variant.page.url)
        page.get_by_role("button", name="Add to cart").click()
        page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()

    page.goto(shop_server.url + "/cart/")
    subtotal = first.price + second.price
    discount = (subtotal / 10).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    goods = subtotal - discount
    # The demo ships to Virginia by Ground (12 a parcel, 1 a bottle, free from
    # 150), and Virginia has no rate set: no tax
    shipping = Decimal("0.00") if goods >= 150 else Decimal("14.00")
    total = goods + shipping
    page.get_by_label("Coupon code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/cart/")
    assert page.locator("[data-cart-coupon]").inner_text() == "WELCOME10"
    assert page.locator("[data-cart-discount]").inner_text() == f"−${discount:,}"
    assert page.locator("[data-cart-total]").inner_text() == f"${goods:,}"
    page.screenshot(path=screenshots / "checkout-0-coupon.png", full_page=True)
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url("**/checkout/")
    fill_checkout(
        page,
        "grace@example.com",
        "Grace Hopper",
        "1 Navy Yard",
        "Arlington",
        "22202",
        "US",
        state="US-VA",
    )
    # The state select offers only the chosen country's states
    assert page.locator("select[name=state] optgroup").evaluate_all(
        "groups => groups.map(group => group.label)"
    ) == ["United States of America"]
    # The methods and totals follow the address as it is chosen
    pay = page.get_by_role("button", name=f"Pay ${total:,} securely")
    pay.wait_for()
    assert page.locator("[data-checkout-total]").inner_text() == f"${total:,}"
    assert page.get_by_role("radio", name=re.compile(r"\bGround\b")).is_checked()
    page.screenshot(path=screenshots / "checkout-1-form.png", full_page=True)
    pay.click()

    # The emulator's hosted page, as Stripe's would be
    page.wait_for_url(re.compile(r".*/_stripe/pay/cs_test_\w+$"))
    order = Order.objects.get(email="grace@example.com")
    assert (order.status, order.shipping_method, order.shipping, order.tax) == (
        OrderStatus.PENDING,
        "Ground",
        shipping,
        Decimal("0.00"),
    )
    assert order.total == total
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Grace Hopper")
    page.get_by_role("button", name=f"Pay ${total:,}").first.click()
    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    page.screenshot(path=screenshots / "checkout-2-declined.png", full_page=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=f"Pay ${total:,}").first.click()

    page.wait_for_url(f"**/orders/{order.token}/")
    assert page.locator("[data-order-status]").get_attribute("data-order-status") == (
        "paid"
    )
    assert page.locator("[data-order-total]").inner_text() == f"${total:,}"
    assert page.locator("[data-order-discount]").inner_text() == f"−${discount:,}"
    assert page.locator(".cart-badge").inner_text() == "0"
    page.screenshot(path=screenshots / "checkout-3-paid.png", full_page=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (order.coupon_code, order.discount) == ("WELCOME10", discount)
    assert order.history.get().cause == "success page"
