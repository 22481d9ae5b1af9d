"""A page per grape and per producer, linked from wine pages and in the sitemap,
with their wines listed and filtered; vintage as a range; related wines."""

import re

import pytest
from django.test import Client

from products.models import GrapeVariety, WinePage

pytestmark = pytest.mark.django_db


def listed(html):
    return sorted(re.findall(r'<a class="wine-card__link" href="([^"]+)"', html))


def first_page(wines):
    """The wines a listing's first page shows (by name, 12 a page)."""
    return sorted(w.url for w in wines.order_by("title", "pk")[:12])


def get(url, status=200):
    response = Client().get(url)
    assert response.status_code == status, url
    return response.content.decode()


def test_a_grape_page_lists_its_wines_and_filters_them():
    syrah = GrapeVariety.objects.get(name="Syrah")
    wines = WinePage.objects.live().filter(grapes=syrah)

    html = get("/wines/grapes/syrah/")

    assert "<h1>Syrah</h1>" in html
    assert syrah.description in html
    assert listed(html) == first_page(wines)
    assert 'name="grape"' not in html  # the page is the grape filter
    reds = get("/wines/grapes/syrah/?colour=fortified")
    assert listed(reds) == sorted(w.url for w in wines.filter(colour="fortified"))


def test_a_producer_page_lists_its_wines():
    html = get("/wines/producers/cantina-bartoli/")

    assert "<h1>Cantina Bartoli</h1>" in html
    assert listed(html) == sorted(
        w.url for w in WinePage.objects.live().filter(producer="Cantina Bartoli")
    )


def test_unknown_grapes_and_producers_are_not_found():
    get("/wines/grapes/no-such-grape/", 404)
    get("/wines/producers/no-such-house/", 404)


def test_vintage_is_a_range_filter():
    html = get("/wines/?min_vintage=2015&max_vintage=2018")

    wanted = WinePage.objects.live().filter(vintage__range=(2015, 2018))
    assert len(wanted) > 0
    assert listed(html) == first_page(wanted)
    assert re.search(r"\((\d+)\)</span>", html)[1] == str(wanted.count())
    backwards = get("/wines/?min_vintage=2018&max_vintage=2015", 400)
    assert "The last vintage must not be before the first." in backwards
    get("/wines/?min_vintage=abc", 400)


def test_a_wine_page_links_its_grapes_producer_and_related_wines():
    wine = WinePage.objects.live().filter(producer="Cantina Bartoli").first()

    html = get(wine.url)

    for grape in wine.grapes.all():
        assert f'href="/wines/grapes/{grape.slug}/" data-grape-link>' in html
    assert 'href="/wines/producers/cantina-bartoli/" data-producer-link>' in html
    related = re.search(r"data-related-wines>(.*?)</section>", html, re.S)[1]
    urls = re.findall(r'<a class="wine-card__link" href="([^"]+)"', related)
    assert 0 < len(urls) <= 4 and wine.url not in urls
    # The same producer's other wines come first
    others = (
        WinePage.objects.live().filter(producer="Cantina Bartoli").exclude(pk=wine.pk)
    )
    assert set(urls[: len(others)]) == {w.url for w in others[:4]}


def test_the_sitemap_lists_grape_and_producer_pages():
    xml = get("/sitemap.xml")

    assert "/wines/grapes/nebbiolo/</loc>" in xml
    assert "/wines/producers/cantina-bartoli/</loc>" in xml
