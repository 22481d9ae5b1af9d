"""Every catalogue page makes the same number of queries with 10 and 100 wines."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from products.models import WinePage

from . import factories

# The most queries each page may make when it is rendered (the first visit after a
# change; later visits come from the cache with none), stated in docs/speed.md. A page
# that starts making a query per wine fails here long before the catalogue gets big.
MAX_QUERIES = {
    "home": 11,
    "wines index": 17,
    "country": 18,
    "region": 16,
    "wine": 17,
    "search": 8,
    "grape": 18,
    "producer": 18,
}
PAGES = {
    "home": "/",
    "wines index": "/wines/?country=scaleland",
    "country": "/wines/scaleland/",
    "region": "/wines/scaleland/growth/",
    "wine": "/wines/scaleland/growth/scale-wine-000-2020/",
    "search": "/search/?q=Scaleproducer",
    "grape": "/wines/grapes/syrah/?country=scaleland",
    "producer": "/wines/producers/scaleproducer/",
}


def add_wines(region, image, start, stop):
    for number in range(start, stop):
        factories.wine(
            region,
            f"Scale Wine {number:03d}",
            producer="Scaleproducer",
            grapes=["Syrah"],
            image=image,
            variants=[
                factories.variant("19.00"),
                factories.variant("100.00", label="Case of 6"),
            ],
        )


def count_queries(client, url):
    client.get(url)  # warm-up: renditions and the site-root cache are built once
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture
def growth_region(db):
    country = factories.country("Scaleland")
    return factories.region("Growth", country)


def test_query_counts_do_not_grow_with_the_catalogue(
    client, growth_region, django_assert_max_num_queries
):
    image = get_image_model().objects.create(
        title="Scale bottle", file=get_test_image_file()
    )
    add_wines(growth_region, image, 0, 10)
    with_10 = {name: count_queries(client, url) for name, url in PAGES.items()}

    add_wines(growth_region, image, 10, 100)
    assert WinePage.objects.descendant_of(growth_region).count() == 100
    with_100 = {name: count_queries(client, url) for name, url in PAGES.items()}

    assert with_100 == with_10
    for name, url in PAGES.items():
        with django_assert_max_num_queries(MAX_QUERIES[name]):
            client.get(url)


def test_cached_pages_make_no_queries_at_any_size(growth_region, page_cache):
    """From the cache, a new visitor's page costs no query with 10 or 100 wines."""
    image = get_image_model().objects.create(
        title="Scale bottle", file=get_test_image_file()
    )
    for start, stop in ((0, 10), (10, 100)):
        add_wines(growth_region, image, start, stop)
        warm = {name: count_queries(Client(), url) for name, url in PAGES.items()}
        assert warm == dict.fromkeys(PAGES, 0), stop


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
# What a wine page the cache misses reads, the catalogue standing still (as after
# a publish, once any page has been rendered): the page's own rows only. The site,
# its root page and the view restrictions are kept per catalogue version, the
# breadcrumbs come from routing and the related wines' cards are made once.
WINE_PAGE_OWN_QUERIES = [
    "wagtailcore_page",  # the pages along the path, in one query (home/models.py)
    "wagtailcore_page",  # the wine itself (its specific form: joined to its page)
    "products_winevariant",  # its variants with what checkouts hold
    "wagtailimages_image",  # its image
    "products_grapevariety",  # its grapes
    "products_winepage",  # the related wines' ids
]


def test_a_wine_page_the_cache_misses_reads_only_its_own_rows(
    growth_region, page_cache, settings
):
    settings.CATALOGUE_PAGE_CACHE = False
    image = get_image_model().objects.create(
        title="Scale bottle", file=get_test_image_file()
    )
    add_wines(growth_region, image, 0, 10)
    url = PAGES["wine"]
    # The first visit makes the image's renditions (once ever) and the related
    # wines' cards (once a version, shared with every page that shows them).
    first = Client().get(url)

    with CaptureQueriesContext(connection) as queries:
        second = Client().get(url)

    assert first.status_code == second.status_code == 200
    tables = [
        re.match(r'SELECT "(\w+)"', query["sql"])[1]
        for query in queries.captured_queries
    ]
    assert tables == WINE_PAGE_OWN_QUERIES
    html = second.content.decode()
    assert TOKEN.sub("", html) == TOKEN.sub("", first.content.decode())
    assert html.count('class="wine-card__link"') == 4
