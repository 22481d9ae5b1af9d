"""A shopper's first look, in Debian's Chromium: home, country, region, wine."""

import json
import re

import pytest

from products.models import CountryPage, RegionPage, WinePage

pytestmark = pytest.mark.browser


def test_shopper_browses_from_home_to_a_wine(page, shop_server, screenshots, db_reads):
    country = CountryPage.objects.get(slug="france")
    region = RegionPage.objects.get(slug="burgundy")
    wine = WinePage.objects.child_of(region).live().order_by("title").first()
    variants = [v for v in wine.variants.all() if v.active]

    # Given the home page
    page.goto(shop_server.url + "/")
    assert page.title() == "Cellar · Cellar"
    assert page.locator("h1").inner_text() == "Wines worth opening tonight"
    assert page.locator(".wine-card").count() == 8
    assert page.locator(".cart-badge").inner_text() == "0"
    page.screenshot(path=screenshots / "catalogue-1-home.png", full_page=True)

    # When the shopper opens a country from the header
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="France"
    ).click()
    page.wait_for_url("**/wines/france/")
    assert page.locator("h1").inner_text() == "France"
    assert page.locator(".region-list li").count() == 4
    assert page.locator("#wine-browser-heading").inner_text() == (
        f"Wines from France ({WinePage.objects.live().descendant_of(country).count()})"
    )
    page.screenshot(path=screenshots / "catalogue-2-country.png", full_page=True)

    # Then a region, filtered to its white wines
    page.locator(".region-list").get_by_role("link", name="Burgundy").click()
    page.wait_for_url("**/wines/france/burgundy/")
    page.get_by_label("Colour / style").select_option("white")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/wines/france/burgundy/?*colour=white*")
    whites = WinePage.objects.live().descendant_of(region).filter(colour="white")
    assert page.locator(".wine-card").count() == min(whites.count(), 12)
    page.screenshot(path=screenshots / "catalogue-3-region.png", full_page=True)

    # And finally a wine page with its variants, prices and stock
    page.goto(shop_server.url + wine.url)
    assert page.locator("h1").inner_text().startswith(wine.title)
    assert page.locator(".variant").count() == len(variants)
    first = page.locator(".variant").first
    assert variants[0].label in first.inner_text()
    assert f"${variants[0].price}" in first.inner_text()
    assert variants[0].stock_status in first.inner_text()
    assert page.get_by_label("Quantity").input_value() == "1"
    image = page.locator(".wine__image img")
    # The browser picks from the srcset: a rendition of the bottle, loaded
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert re.search(
        r"\.fill-(360x450|600x750|720x900)\.png$", image.evaluate("i => i.currentSrc")
    )
    data = json.loads(page.locator('script[type="application/ld+json"]').inner_text())
    assert data["@type"] == "Product"
    assert [offer["sku"] for offer in data["offers"]] == [v.sku for v in variants]
    page.screenshot(path=screenshots / "catalogue-4-wine.png", full_page=True)
