"""Catalogue pages from the cache: a published change shows at once, and every
shopper sees their own cart, messages and CSRF token (pagecache)."""

import re
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.money import format_money
from products.tests import factories

BADGE = re.compile(r'<span class="cart-badge" data-cart-count>(\d+)</span>')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def cellar_red(db):
    region = factories.region("Cache Valley", factories.country("Cacheland"))
    return factories.wine(
        region,
        "Cache Red",
        variants=[
            factories.variant("19.00", stock=30, sku="CACHE-75"),
            factories.variant("100.00", stock=30, sku="CACHE-C6", label="Case of 6"),
        ],
    )


def get(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), len(queries)


def badge(html):
    return int(BADGE.search(html).group(1))


def test_a_cached_page_costs_no_query(page_cache, cellar_red, client):
    cold, cold_queries = get(client, cellar_red.url)

    warm, warm_queries = get(client, cellar_red.url)

    assert cold_queries > 0
    assert warm_queries == 0
    assert TOKEN.sub("", warm) == TOKEN.sub("", cold)


def test_a_published_price_change_shows_on_the_next_request(
    page_cache, cellar_red, client
):
    region_url = cellar_red.get_parent().url
    for url in (cellar_red.url, region_url, "/search/?q=Cache"):
        html, _ = get(client, url)
        assert format_money(Decimal("19.00")) in html
        get(client, url)  # now from the cache

    # An editor changes the bottle's price and publishes.
    page = cellar_red.specific_class.objects.get(pk=cellar_red.pk)
    variants = list(page.variants.all())
    variants[0].price = Decimal("23.00")
    page.variants = variants
    page.save_revision().publish()

    for url in (cellar_red.url, region_url, "/search/?q=Cache"):
        html, queries = get(client, url)
        assert format_money(Decimal("23.00")) in html, url
        assert format_money(Decimal("19.00")) not in html, url
        assert queries > 0, url


def test_an_unpublished_wine_leaves_at_once(page_cache, cellar_red, client):
    get(client, cellar_red.url)
    region_url = cellar_red.get_parent().url
    assert "Cache Red" in get(client, region_url)[0]

    cellar_red.unpublish()

    assert client.get(cellar_red.url).status_code == 404
    assert "Cache Red" not in get(client, region_url)[0]


def test_stock_taken_by_a_paid_order_shows_at_once(page_cache, cellar_red, pay_for):
    bottle = cellar_red.variants.get(sku="CACHE-75")
    bottle.stock = 7  # "In stock" (above 5) for now
    bottle.save()
    shopper = Client()
    get(shopper, cellar_red.url)
    assert "In stock" in get(shopper, cellar_red.url)[0]

    pay_for([(bottle, 3)])  # through checkout, the emulator and the webhook

    html, queries = get(shopper, cellar_red.url)
    assert "Only 4 left" in html
    assert queries > 0


def test_a_sale_that_leaves_plenty_keeps_the_pages_cached(
    page_cache, cellar_red, pay_for
):
    bottle = cellar_red.variants.get(sku="CACHE-75")
    bottle.stock = 30
    bottle.save()
    shopper = Client()
    get(shopper, cellar_red.url)

    pay_for([(bottle, 6)])  # 24 left: still "In stock", still a full line in a cart

    html, queries = get(shopper, cellar_red.url)
    assert (queries, "In stock" in html) == (0, True)
    bottle.refresh_from_db()
    assert bottle.stock == 24

    pay_for([(bottle, 1)])  # 23 left: a cart of 24 would now be capped

    assert get(shopper, cellar_red.url)[1] > 0


def test_two_shoppers_never_see_each_others_cart(page_cache, cellar_red):
    bottle, case = cellar_red.variants.order_by("sku")
    alice, bob, carol = (Client(enforce_csrf_checks=True) for _ in range(3))
    url = cellar_red.url
    region_url = cellar_red.get_parent().url

    # Each adds from the cached wine page, with the CSRF token it was given.
    for shopper, variant, quantity in ((alice, case, 2), (bob, bottle, 5)):
        html, _ = get(shopper, url)
        token = TOKEN.search(html).group(1)
        response = shopper.post(
            "/cart/add/",
            {"variant": variant.pk, "quantity": quantity, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302

    alice_page, alice_queries = get(alice, url)
    bob_page, bob_queries = get(bob, url)
    carol_page, carol_queries = get(carol, url)

    assert (badge(alice_page), badge(bob_page), badge(carol_page)) == (2, 5, 0)
    assert "Added 2 × Cache Red (Case of 6) to your cart." in alice_page
    assert "Added 5 × Cache Red (75 cl bottle) to your cart." in bob_page
    assert "Added" not in carol_page
    assert "Added 2" not in bob_page and "Added 5" not in alice_page
    # Served from the cache: only a shopper's own session is read (from the
    # database under the test settings, from Redis in production).
    assert (alice_queries, bob_queries, carol_queries) == (1, 1, 0)
    assert len({TOKEN.search(p).group(1) for p in (alice_page, bob_page)}) == 2
    for shopper, count in ((alice, 2), (bob, 5), (carol, 0)):
        assert badge(get(shopper, region_url)[0]) == count
    assert [
        (item["sku"], item["quantity"])
        for item in alice.get("/cart/api/").json()["items"]
    ] == [("CACHE-C6", 2)]
    assert [
        (item["sku"], item["quantity"])
        for item in bob.get("/cart/api/").json()["items"]
    ] == [("CACHE-75", 5)]
    assert "sessionid" not in carol.cookies


def test_signed_in_staff_are_never_served_from_the_cache(
    page_cache, cellar_red, client, staff_client
):
    get(client, cellar_red.url)
    editor = staff_client("Editors")

    _, first = get(editor, cellar_red.url)
    _, second = get(editor, cellar_red.url)

    assert first > 0 and second > 0


def test_made_up_query_parameters_are_not_cached(page_cache, cellar_red, client):
    url = cellar_red.get_parent().url
    get(client, f"{url}?utm_source=mail")

    _, queries = get(client, f"{url}?utm_source=mail")

    assert queries > 0
    assert cache.get(f"catalogue:page:2:http://testserver{url}?utm_source=mail") is None


def test_pages_that_are_not_cached_show_no_hole_markers(page_cache, cellar_red, client):
    """A 404 and a plain content page go through the same view, uncached."""
    missing = client.get(cellar_red.url + "no-such-page/")
    about = client.get("/about/")

    assert missing.status_code == 404
    for response in (missing, client.get(cellar_red.url), about):
        assert "<!--hole" not in response.content.decode()
        assert "<!--/hole" not in response.content.decode()
    assert "data-cart-count>0</span>" in missing.content.decode()


def test_the_header_of_uncached_pages_shows_a_new_country_at_once(
    page_cache, db, client
):
    # Given the cart page has been shown once, its header's countries remembered
    before, first_queries = get(client, "/cart/")
    again, again_queries = get(client, "/cart/")
    assert "Newland" not in before
    assert again_queries < first_queries

    # When an editor publishes a country
    country = factories.country("Newland")
    country.save_revision().publish()

    # Then the next page's header links to it
    after, _ = get(client, "/cart/")
    assert f'<a href="{country.url}">Newland</a>' in after


def test_another_process_change_shows_within_the_version_check(
    page_cache, cellar_red, client, settings
):
    """A web process trusts the version it read for CATALOGUE_VERSION_CHECK_SECONDS;
    a change made by another process (here: the price written and the version
    moved on behind this one's back) shows once that time has passed."""
    settings.CATALOGUE_VERSION_CHECK_SECONDS = 1.0
    get(client, cellar_red.url)
    cellar_red.variants.filter(sku="CACHE-75").update(price=Decimal("21.00"))
    cache.incr("catalogue:version")

    html, queries = get(client, cellar_red.url)
    assert (queries, format_money(Decimal("19.00")) in html) == (0, True)

    time.sleep(1.0)
    html, queries = get(client, cellar_red.url)
    assert queries > 0
    assert format_money(Decimal("21.00")) in html
    assert format_money(Decimal("19.00")) not in html


def queries_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response.status_code, len(queries)


def twice(client, url):
    """(status, queries) of the second of two identical requests: 0 queries means
    the first was stored."""
    client.get(url)
    return queries_of(client, url)


def test_only_canonical_query_values_are_cached(page_cache, cellar_red, client):
    region_url = cellar_red.get_parent().url

    # Canonical values are cached ...
    assert twice(client, "/wines/?page=2") == (200, 0)
    assert twice(client, "/search/?q=Cache") == (200, 0)
    assert twice(client, f"{region_url}?min_price=10") == (200, 0)
    # ... values corrected or refused are not
    for url in (
        "/wines/?page=999",
        "/wines/?page=02",
        "/wines/?page=x",
        "/wines/?min_price=abc",
        "/wines/?sort=nonsense",
        "/search/?q=%20Cache",
        "/search/?q=Cache&page=7",
        "/wines/?page=1&page=2",
    ):
        status, queries = twice(client, url)
        assert queries > 0, url


def test_made_up_queries_cannot_grow_the_cache_past_its_budget(
    page_cache, cellar_red, client, settings
):
    # Given a budget of 20 query pages per version and cache lifetime
    settings.CATALOGUE_CACHE_QUERY_PAGES = 20

    # When 300 made-up searches arrive
    for number in range(300):
        client.get(f"/search/?q=made-up-{number}")

    # Then the first 20 were stored and nothing after them; pages without a query
    # are still cached
    assert twice(client, "/search/?q=made-up-3")[1] == 0
    assert twice(client, "/search/?q=made-up-250")[1] > 0
    assert twice(client, "/search/?q=made-up-new")[1] > 0
    assert twice(client, cellar_red.url)[1] == 0


def test_a_page_with_a_csrf_token_outside_a_hole_is_never_stored(
    page_cache, db, settings, tmp_path, monkeypatch, caplog
):
    # Given a template author who put a form's token outside the csrf hole
    from home.models import HomePage

    (tmp_path / "leaky_home.html").write_text(
        '<form method="post">{% csrf_token %}<button>Go</button></form>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    monkeypatch.setattr(HomePage, "template", "leaky_home.html")

    # When two visitors open the page
    first = Client().get("/")
    second = Client().get("/")

    # Then each got a page of their own: it was served, never stored, and logged
    assert first.status_code == second.status_code == 200
    assert [t.name for t in second.templates][:1] == ["leaky_home.html"]
    assert "csrfmiddlewaretoken" in first.content.decode()
    assert "Not caching /: a CSRF token outside a hole" in caplog.text


def test_signed_in_shoppers_get_cached_pages_with_their_own_holes(
    page_cache, cellar_red, django_user_model
):
    bottle = cellar_red.variants.get(sku="CACHE-75")
    get(Client(), cellar_red.url)  # cached by an anonymous visit
    from allauth.account.models import EmailAddress

    shopper = Client()
    grace = django_user_model.objects.create_user(
        "grace", "grace@example.com", "a long Cellar password 42"
    )
    EmailAddress.objects.create(
        user=grace, email="grace@example.com", verified=True, primary=True
    )
    signed_in = shopper.post(
        "/accounts/login/",
        {"login": "grace@example.com", "password": "a long Cellar password 42"},
    )
    assert signed_in["Location"] == "/account/"
    html, _ = get(shopper, cellar_red.url)
    shopper.post(
        "/cart/add/",
        {
            "variant": bottle.pk,
            "quantity": 3,
            "csrfmiddlewaretoken": TOKEN.search(html).group(1),
        },
    )

    page, queries = get(shopper, cellar_red.url)

    # From the cache: only the shopper's session is read (the user is not)
    assert queries == 1
    assert badge(page) == 3
    assert "Added 3 × Cache Red (75 cl bottle) to your cart." in page
    assert badge(get(Client(), cellar_red.url)[0]) == 0
    # and the account's pages are still the shopper's own, never cached
    assert "grace@example.com" in get(shopper, "/account/")[0]


def test_a_shoppers_cached_page_renders_no_template_unless_a_message_waits(
    page_cache, cellar_red
):
    # The messages' hole is filled on every cached page a shopper with a session
    # gets: with nothing to say it is a string made once, not a template render
    bottle = cellar_red.variants.get(sku="CACHE-75")
    shopper = Client(enforce_csrf_checks=True)
    get(Client(), cellar_red.url)  # cached by another visitor
    html, _ = get(shopper, cellar_red.url)
    shopper.post(
        "/cart/add/",
        {
            "variant": bottle.pk,
            "quantity": 2,
            "csrfmiddlewaretoken": TOKEN.search(html).group(1),
        },
    )

    told = shopper.get(cellar_red.url)
    again = shopper.get(cellar_red.url)

    added = "Added 2 × Cache Red (75 cl bottle) to your cart."
    assert [t.name for t in told.templates] == ["includes/messages.html"]
    assert added in told.content.decode()
    assert again.templates == []
    assert added not in again.content.decode()
    assert badge(again.content.decode()) == 2
    assert '<div class="container messages" aria-live="polite" data-messages>' in (
        again.content.decode()
    )
