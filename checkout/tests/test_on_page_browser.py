"""A shopper pays on the shop's own page (the Payment Element, here the emulator's
Stripe.js stand-in), in Chromium: every outcome a card has, and the clicks and
reloads people make while it is confirmed."""

import re

import pytest

from cart.tests.test_browser import in_stock_variants
from home.models import PaymentPage, ShopSettings
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.models import WineVariant
from stripe_emulator.models import EmulatedObject

pytestmark = pytest.mark.browser
EMAIL = "on-page@example.com"
CONFIRM = re.compile(r".*/_stripe/v1/payment_intents/\w+/confirm$")


@pytest.fixture
def on_page(shop_server, db_reads, settings):
    """The shop takes cards on its page; what the tests commit is undone after."""
    settings.SITE_URL = shop_server.url  # where the 3-D Secure page returns
    shop = ShopSettings.load()
    shop.payment_page = PaymentPage.ON_PAGE
    shop.save()
    [variant] = in_stock_variants(1)
    yield variant
    shop.payment_page = PaymentPage.HOSTED
    shop.save()
    orders = Order.objects.filter(email=EMAIL)
    Invoice.objects.filter(order__in=orders).delete()
    orders.delete()
    Customer.objects.for_email(EMAIL).delete()
    WineVariant.objects.filter(pk=variant.pk).update(stock=variant.stock)


def check_out(page, shop_server, variant, fill_checkout, card_form=True):
    page.goto(shop_server.url + variant.page.url)
    page.get_by_role("button", name="Add to cart").click()
    page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()
    page.goto(shop_server.url + "/checkout/")
    fill_checkout(
        page, EMAIL, "Ada Lovelace", "12 Analytical Row", "London", "EC1A 1BB", "GB"
    )
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r".*/checkout/pay/[\w-]+/$"))
    if card_form:
        page.get_by_label("Card number").wait_for()
    return Order.objects.get(email=EMAIL, status=OrderStatus.PENDING)


def enter_card(page, number):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date").fill("1234")
    page.get_by_label("Security code").fill("123")


def pay_button(page, order):
    return page.get_by_role("button", name=f"Pay ${order.total:,}")


def charges_of(order):
    return EmulatedObject.objects.filter(
        type="charge", data__payment_intent=order.stripe_payment_intent_id
    )


def assert_paid_page(page, order, last4="4242"):
    page.wait_for_url(f"**/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert page.locator("[data-order-status]").get_attribute("data-order-status") == (
        "paid"
    )
    assert page.locator("[data-charge-id]").inner_text() == order.stripe_charge_id
    assert page.locator("[data-order-payment]").inner_text() == (
        f"Paid ${order.total:,} with Visa ending {last4}. Stripe charge "
        f"{order.stripe_charge_id}."
    )
    assert order.history.filter(to_status=OrderStatus.PAID).count() == 1


def test_pays_with_4242_after_a_decline_on_the_same_page(
    page, shop_server, on_page, fill_checkout, screenshots
):
    order = check_out(page, shop_server, on_page, fill_checkout)
    page.screenshot(path=screenshots / "on-page-1-form.png", full_page=True)
    intent = order.stripe_payment_intent_id

    enter_card(page, "4000 0000 0000 0002")
    pay_button(page, order).click()

    alert = page.locator("[data-pay-error]")
    alert.wait_for()
    assert alert.inner_text() == "Your card was declined."
    assert page.evaluate("document.activeElement.hasAttribute('data-pay-error')")
    page.screenshot(path=screenshots / "on-page-2-declined.png", full_page=True)
    order.refresh_from_db()
    assert (order.status, order.stripe_payment_intent_id) == (
        OrderStatus.PENDING,
        intent,
    )

    enter_card(page, "4242 4242 4242 4242")
    pay_button(page, order).click()

    assert_paid_page(page, order)
    page.screenshot(path=screenshots / "on-page-3-paid.png", full_page=True)
    assert order.stripe_payment_intent_id == intent
    assert [c.data["status"] for c in charges_of(order).order_by("created")] == [
        "failed",
        "succeeded",
    ]


def test_insufficient_funds_is_said_in_place(page, shop_server, on_page, fill_checkout):
    order = check_out(page, shop_server, on_page, fill_checkout)

    enter_card(page, "4000 0000 0000 9995")
    pay_button(page, order).click()

    alert = page.locator("[data-pay-error]")
    alert.wait_for()
    assert alert.inner_text() == "Your card has insufficient funds."
    assert pay_button(page, order).is_enabled()


def test_an_incomplete_card_is_refused_before_stripe_is_asked(
    page, shop_server, on_page, fill_checkout
):
    order = check_out(page, shop_server, on_page, fill_checkout)
    requests = []
    page.on("request", lambda r: CONFIRM.match(r.url) and requests.append(r))

    page.get_by_label("Card number").fill("4242 4242")
    pay_button(page, order).click()

    assert page.locator(".StripeEmulator-error").inner_text() == (
        "Your card number is incomplete."
    )
    assert requests == []


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_three_d_secure(page, shop_server, on_page, fill_checkout, outcome):
    order = check_out(page, shop_server, on_page, fill_checkout)

    enter_card(page, "4000 0025 0000 3155")
    pay_button(page, order).click()
    page.wait_for_url(re.compile(r".*/_stripe/authenticate/pi_\w+$"))
    name = "Complete authentication" if outcome == "complete" else "Fail authentication"
    page.get_by_role("button", name=name).click()

    if outcome == "complete":
        assert_paid_page(page, order, last4="3155")
        return
    page.wait_for_url(f"**/checkout/pay/{order.token}/")
    assert (
        "We are unable to authenticate your payment method."
        in page.locator(".messages").inner_text()
    )
    # Focus is on the reason, for screen readers
    assert page.evaluate("document.activeElement.classList.contains('message--error')")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    # The same intent pays with another card
    enter_card(page, "4242 4242 4242 4242")
    pay_button(page, order).click()
    assert_paid_page(page, order)


def test_a_double_click_confirms_once(page, shop_server, on_page, fill_checkout):
    order = check_out(page, shop_server, on_page, fill_checkout)
    requests = []
    page.on("request", lambda r: CONFIRM.match(r.url) and requests.append(r))

    enter_card(page, "4242 4242 4242 4242")
    pay_button(page, order).dblclick()

    assert_paid_page(page, order)
    assert len(requests) == 1
    assert charges_of(order).count() == 1


def test_the_button_waits_while_the_payment_is_confirmed_and_a_reload_pays_once(
    page, shop_server, on_page, fill_checkout, screenshots
):
    order = check_out(page, shop_server, on_page, fill_checkout)
    held = []
    page.route(CONFIRM, lambda route: held.append(route))  # the answer is slow

    enter_card(page, "4242 4242 4242 4242")
    pay_button(page, order).click()
    page.wait_for_function("document.querySelector('[data-pay-button]').disabled")
    button = page.locator("[data-pay-button]")
    assert button.get_attribute("aria-busy") == "true"
    assert page.locator("[data-pay-spinner]").is_visible()
    assert button.inner_text() == "Confirming your payment…"
    page.screenshot(path=screenshots / "on-page-4-confirming.png", full_page=True)

    # The shopper reloads before the answer: that request never reached Stripe
    held[0].abort("aborted")  # as the browser drops it on reload
    page.unroute(CONFIRM)
    page.reload()
    page.get_by_label("Card number").wait_for()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    # Paying again, the answer is lost on the way back: the reload finds it paid
    def lose_answer(route):
        route.fetch()
        route.abort()

    page.route(CONFIRM, lose_answer)
    enter_card(page, "4242 4242 4242 4242")
    pay_button(page, order).click()
    page.locator("[data-pay-error]").wait_for()
    page.reload()
    assert_paid_page(page, order)
    assert charges_of(order).count() == 1


def test_when_stripe_js_does_not_load_the_shopper_pays_on_stripes_page(
    page, shop_server, on_page, fill_checkout
):
    page.route("**/stripe_emulator/stripe.js", lambda route: route.abort())
    check_out(page, shop_server, on_page, fill_checkout, card_form=False)

    assert page.locator("[data-pay-fallback]").is_visible()
    page.get_by_role("button", name="Pay on Stripe's page instead").click()

    page.wait_for_url(re.compile(r".*/_stripe/pay/cs_test_\w+$"))
    order = Order.objects.get(email=EMAIL, status=OrderStatus.PENDING)
    assert (order.payment_page, order.stripe_payment_intent_id) == ("hosted", "")
