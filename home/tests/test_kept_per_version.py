"""What a page the cache misses no longer reads each time (core/pages.py, the wine
cards): the site, its root page, the view restrictions and the related wines'
cards are kept per catalogue version, so a change to any of them shows on the next
request, with the page cache on and with it off."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from wagtail.models import PageViewRestriction, Site

from core.money import format_money
from home.models import StandardPage
from products.tests import factories


@pytest.fixture(params=["page cache", "page cache off"])
def kept(request, page_cache, settings):
    """Production's per-version memory, with and without whole pages cached."""
    settings.CATALOGUE_PAGE_CACHE = request.param == "page cache"


@pytest.fixture
def wines(db):
    region = factories.region("Kept Valley", factories.country("Keptland"))
    return [
        factories.wine(
            region,
            f"Kept {name}",
            producer="Kept Estate",
            variants=[factories.variant(price)],
        )
        for name, price in (("Red", "19.00"), ("White", "21.00"))
    ]


def related_prices(html):
    section = re.search(r"data-related-wines>(.*?)</section>", html, re.S)
    cards = section[1].split('<article class="wine-card">')[1:] if section else []
    return {
        re.search(r'href="([^"]+)"', card)[1]: re.search(
            r"from (.+?)\s*(?:<span|$)", card, re.M
        )[1]
        for card in cards
    }


def test_a_restriction_added_after_a_visit_applies_on_the_next_request(kept, wines):
    red = wines[0]
    region = red.get_parent()
    for _ in range(2):
        assert Client().get(red.url).status_code == 200

    restriction = PageViewRestriction.objects.create(
        page=region, restriction_type=PageViewRestriction.LOGIN
    )

    for url in (region.url, red.url):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"], url
    assert Client().get(wines[0].get_parent().get_parent().url).status_code == 200

    restriction.delete()

    assert Client().get(red.url).status_code == 200


def test_a_page_under_an_alias_takes_the_alias_sources_restriction(kept, db):
    # An alias of a members' page, restricted at its source; an editor puts an
    # ordinary page under the alias (Wagtail allows it)
    home = Site.objects.get(is_default_site=True).root_page
    members = home.add_child(
        instance=StandardPage(title="Members", slug="members", live=True)
    )
    alias = members.create_alias(parent=home, update_slug="members-corner")
    PageViewRestriction.objects.create(
        page=members, restriction_type=PageViewRestriction.LOGIN
    )
    notes = alias.add_child(
        instance=StandardPage(title="Cellar notes", slug="notes", live=True)
    )
    notes.save_revision().publish()

    # Then a visitor is asked to sign in there, as Wagtail asks, every time
    for url in (alias.url, notes.url, notes.url):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"], url


def test_a_password_restriction_shows_its_form_and_is_never_shared(kept, wines):
    red = wines[0]
    Client().get(red.url)
    PageViewRestriction.objects.create(
        page=red, restriction_type=PageViewRestriction.PASSWORD, password="s3cret"
    )

    response = Client().get(red.url)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="password"' in html
    assert "Kept Red" not in re.sub(r"<title>.*?</title>", "", html, flags=re.S)


def test_a_new_root_page_for_the_site_is_served_on_the_next_request(kept, db):
    site = Site.objects.get(is_default_site=True)
    home = site.root_page
    assert Client().get("/").status_code == 200
    assert "Our new front door" not in Client().get("/").content.decode()
    about = home.add_child(
        instance=StandardPage(title="Our new front door", slug="front-door", live=True)
    )

    site.root_page = about
    site.save()

    response = Client().get("/")
    assert response.status_code == 200
    assert "Our new front door" in response.content.decode()


def test_a_related_wines_new_price_and_unpublishing_show_on_the_next_request(
    kept, wines
):
    red, white = wines
    for _ in range(2):
        shown = related_prices(Client().get(red.url).content.decode())
    assert shown == {white.url: format_money(Decimal("21.00"))}

    page = type(white).objects.get(pk=white.pk)
    variant = page.variants.get()
    variant.price = Decimal("25.00")
    page.variants = [variant]
    page.save_revision().publish()

    shown = related_prices(Client().get(red.url).content.decode())
    assert shown == {white.url: format_money(Decimal("25.00"))}

    page.unpublish()

    assert related_prices(Client().get(red.url).content.decode()) == {}
