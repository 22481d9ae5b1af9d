"""A shopper fills and changes a cart in Debian's Chromium."""

import re

import pytest
from playwright.sync_api import expect

from products.models import WineVariant

pytestmark = pytest.mark.browser


def in_stock_variants(count):
    variants = (
        WineVariant.objects.filter(active=True, stock__gte=5, page__live=True)
        .select_related("page")
        .order_by("sku")
    )
    chosen, pages = [], set()
    for variant in variants:
        if variant.page_id not in pages and variant.sort_order == 0:
            chosen.append(variant)
            pages.add(variant.page_id)
        if len(chosen) == count:
            return chosen
    raise AssertionError("the demo catalogue has too few wines in stock")


def test_shopper_fills_and_changes_the_cart(page, shop_server, screenshots, db_reads):
    first, second = in_stock_variants(2)

    # Given a wine page, when the shopper adds 2 bottles with JavaScript on
    page.goto(shop_server.url + first.page.url)
    page.evaluate("window.__noReload = true")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    # then the badge and a confirmation change without a page load
    status = page.locator("[data-add-to-cart-status]").filter(has_text="Added")
    status.wait_for()
    assert re.match(r"Added 2 × .+ to your cart\.", status.inner_text())
    assert page.locator(".cart-badge").inner_text() == "2"
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=screenshots / "cart-1-added.png", full_page=True)

    # And a second wine
    page.goto(shop_server.url + second.page.url)
    page.get_by_role("button", name="Add to cart").click()
    # A locator, not wait_for_function: the shop's CSP forbids the eval it uses.
    expect(page.locator(".cart-badge")).to_have_text("3")

    # When the shopper opens the cart, changes a quantity and removes a line
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.wait_for_url("**/cart/")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    quantity = page.get_by_label(f"Quantity of {first.page.title}, {first.label}")
    quantity.fill("3")
    quantity.press("Enter")
    page.wait_for_url("**/cart/")
    assert page.locator(".message--success").inner_text() == (
        f"Updated {first.page.title} ({first.label}) in your cart."
    )
    page.get_by_role(
        "button", name=f"Remove {second.page.title}, {second.label}"
    ).click()
    page.wait_for_url("**/cart/")
    page.screenshot(path=screenshots / "cart-2-changed.png", full_page=True)

    # Then a reload shows the same cart
    page.reload()
    assert page.locator("tbody tr").count() == 1
    assert (
        page.get_by_label(
            f"Quantity of {first.page.title}, {first.label}"
        ).input_value()
        == "3"
    )
    total = (first.price * 3).quantize(first.price)
    assert page.locator("[data-cart-total]").inner_text() == f"${total:,}"
    assert page.locator(".cart-badge").inner_text() == "3"
    page.screenshot(path=screenshots / "cart-3-reloaded.png", full_page=True)
