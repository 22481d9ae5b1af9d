"""Every shop page at a phone's size (390×844) and a laptop's (1280×800), in
Chromium: no sideways scrolling, touch targets big enough on the phone, no serious
or critical accessibility violation (axe-core), and a screenshot of each to look
at (artifacts/screenshots/screen-*.png)."""

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.text import slugify

from cart.tests.test_browser import in_stock_variants
from checkout.tests.conftest import check_out, session_id_of
from orders.models import Customer, Invoice, Order
from products.models import CountryPage, RegionPage, WineVariant
from stripe_emulator import payments, webhooks

pytestmark = pytest.mark.browser

EMAIL = "screens@example.com"
PASSWORD = "a long Cellar password 42"
SIZES = {"phone": (390, 844), "small-phone": (360, 740), "desktop": (1280, 800)}
AXE = settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker, browser, shop_server):
    """A paid order, an account with it, a cart of two wines and a checkout that
    waits on Stripe's page: all the pages a shopper sees, committed for the live
    server, put back after."""
    with django_db_blocker.unblock():
        settings.SITE_URL = shop_server.url
        first, second = in_stock_variants(2)
        stock = {first.pk: first.stock, second.pk: second.stock}
        buyer = Client()
        buyer.post("/cart/add/", {"variant": first.pk, "quantity": 1})
        session_id = session_id_of(check_out(buyer, email=EMAIL, name="Ada Lovelace"))
        payments.pay(session_id, "4242424242424242")
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
        order = Order.objects.get(stripe_session_id=session_id)
        user = get_user_model().objects.create_user(
            username=EMAIL, email=EMAIL, password=PASSWORD
        )
        EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
        Order.objects.filter(pk=order.pk).update(user=user)
        pending = Client()
        pending.post("/cart/add/", {"variant": second.pk, "quantity": 1})
        pay_page = check_out(pending, email="grace@example.com", name="Grace Hopper")
        region = RegionPage.objects.live().order_by("pk").first()
        country = CountryPage.objects.live().order_by("pk").first()
        try:
            yield {
                "order": order,
                "wine": first.page,
                "region": region,
                "country": country,
                "pay_url": pay_page["Location"],
                "cart": [first, second],
            }
        finally:
            orders = Order.objects.filter(email__in=[EMAIL, "grace@example.com"])
            Invoice.objects.filter(order__in=orders).delete()
            orders.delete()
            for email in (EMAIL, "grace@example.com"):
                Customer.objects.for_email(email).delete()
            EmailAddress.objects.filter(email=EMAIL).delete()
            user.delete()
            for pk, count in stock.items():
                WineVariant.objects.filter(pk=pk).update(stock=count)
            webhooks.deliver_pending(transport=webhooks.RecordingTransport())


def pages(walk):
    order = walk["order"]
    return {
        "home": "/",
        "wines": "/wines/",
        "country": walk["country"].url,
        "region": walk["region"].url,
        "wine": walk["wine"].url,
        "search": "/search/?q=red",
        "search-none": "/search/?q=zzzzqqq",
        "grape": "/wines/grapes/syrah/",
        "producer": f"/wines/producers/{slugify(walk['wine'].producer)}/",
        "cart": "/cart/",
        "checkout": "/checkout/",
        "order": f"/orders/{order.token}/",
        "orders": "/orders/",
        "account": "/account/",
        "sign-in": "/accounts/login/",
        "sign-up": "/accounts/signup/",
        "stripe-pay": walk["pay_url"],
    }


SIGNED_IN = {"account"}


def overflow(page):
    return page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )


def small_targets(page):
    """Links and buttons a finger cannot hit: under 44 px in both directions (the
    inline links of running text excepted, as WCAG 2.5.8 does)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'a[href], button, input:not([type=hidden]), select, summary')]
            .filter(el => {
              // A box or a radio is hit through its label
              const target = ['checkbox', 'radio'].includes(el.type)
                ? (el.closest('label')
                   || document.querySelector(`label[for="${el.id}"]`))
                : el;
              if (!target) return true;
              const r = target.getBoundingClientRect();
              // Not shown
              if (r.width <= 1 || r.height <= 1 || r.right <= 0) return false;
              if (getComputedStyle(target).visibility === 'hidden') return false;
              // Links in running text
              const text = 'p, dd, .prose, address, .muted, h1, h2, h3';
              if (el.matches('a') && el.closest(text)) return false;
              return Math.min(r.width, r.height) < 44;
            })
            .map(el => el.outerHTML.slice(0, 120))"""
    )


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact,
                          nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return result


def fill_cart(context, url, variants):
    page = context.new_page()
    for variant in variants:
        page.goto(url + variant.page.url)
        page.get_by_role("button", name="Add to cart").click()
        page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()
    page.close()


def sign_in(context, url):
    page = context.new_page()
    page.goto(url + "/accounts/login/")
    page.get_by_label("Email:").fill(EMAIL)
    page.get_by_label("Password:").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/account/")
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_every_shop_page_fits_the_screen_and_passes_axe(
    browser, shop_server, screenshots, walk, size
):
    width, height = SIZES[size]
    problems = {}
    # axe is injected as a script of the test's own, past the shop's CSP
    viewport = {"width": width, "height": height}
    guest = browser.new_context(viewport=viewport, bypass_csp=True)
    member = browser.new_context(viewport=viewport, bypass_csp=True)
    try:
        fill_cart(guest, shop_server.url, walk["cart"])
        sign_in(member, shop_server.url)
        for name, path in pages(walk).items():
            context = member if name in SIGNED_IN else guest
            page = context.new_page()
            url = path if path.startswith("http") else shop_server.url + path
            response = page.goto(url)
            assert response.status < 400, (name, response.status)
            page.wait_for_load_state("networkidle")
            # Lazy images below the fold load for the full-page screenshot
            page.evaluate(
                "() => document.querySelectorAll('img[loading=lazy]')"
                ".forEach(img => { img.loading = 'eager'; })"
            )
            page.wait_for_load_state("networkidle")
            page.screenshot(
                path=screenshots / f"screen-{name}-{size}.png", full_page=True
            )
            found = {}
            scroll_width, inner_width = overflow(page)
            if scroll_width > inner_width:
                found["overflow"] = f"{scroll_width} px wide in {inner_width}"
            if size != "desktop" and (small := small_targets(page)):
                found["small targets"] = small
            if violations := axe_violations(page):
                found["axe"] = violations
            if found:
                problems[name] = found
            page.close()
    finally:
        guest.close()
        member.close()
    assert problems == {}, json.dumps(problems, indent=1)


def test_a_refused_checkout_moves_the_focus_to_its_errors(
    browser, shop_server, walk, screenshots, fill_checkout
):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        fill_cart(context, shop_server.url, walk["cart"][:1])
        page = context.new_page()
        page.goto(shop_server.url + "/checkout/")
        # A US address with a postal code the US does not have: refused by the server
        fill_checkout(
            page, "ada@example.com", "Ada", "1 Main St", "Albany", "ABC", "US", "US-NY"
        )
        page.locator("[data-checkout-submit]").click()
        page.wait_for_load_state("networkidle")
        focused = page.evaluate(
            "() => document.activeElement.closest('[data-error-summary]') !== null"
        )
        assert focused, page.evaluate("() => document.activeElement.outerHTML")
        summary = page.locator("[data-error-summary]").inner_text()
        assert re.search(r"postal code", summary, re.I), summary
        page.screenshot(path=screenshots / "screen-checkout-refused-phone.png")
    finally:
        context.close()
