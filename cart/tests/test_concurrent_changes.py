"""Changes to one cart at once, from one shopper's tabs: none is lost, and an
answer of "Added" means added. Real threads, committed sessions (PostgreSQL for the
database sessions the embedded default and the tests use; Redis as production)."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from products.models import WineVariant

SHOPPERS = 8


@pytest.fixture(params=["database", "redis"])
def one_shopper(request, committed_db, settings):
    """A browser with one wine in its cart, its session stored where the param
    says; the session is removed afterwards."""
    if request.param == "redis":
        settings.CACHES = {
            **settings.CACHES,
            "sessions": {
                "BACKEND": "core.cache.RedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
                "KEY_PREFIX": "cellar-test-concurrent",
            },
        }
        settings.SESSION_ENGINE = "core.sessions"
        settings.SESSION_CACHE_ALIAS = "sessions"
    variants = list(
        WineVariant.objects.filter(
            active=True, page__live=True, stock__gte=SHOPPERS
        ).order_by("pk")[: SHOPPERS + 1]
    )
    browser = Client()
    browser.post("/cart/add/", {"variant": variants[0].pk, "quantity": 1})
    key = browser.cookies["sessionid"].value
    yield browser, key, variants
    Session.objects.filter(session_key=key).delete()


def at_once(key, posts):
    """Send each (url, form) from its own thread at the same moment, all with the
    one session cookie; the status codes."""
    start = Barrier(len(posts))

    def send(post):
        url, form = post
        tab = Client()
        tab.cookies["sessionid"] = key
        start.wait(timeout=30)
        try:
            return tab.post(url, form, HTTP_ACCEPT="application/json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(send, posts))


def cart_of(browser):
    return {
        item["variant"]: item["quantity"]
        for item in browser.get("/cart/api/").json()["items"]
    }


def test_eight_adds_of_different_wines_at_once_keep_every_line(one_shopper):
    browser, key, variants = one_shopper

    statuses = at_once(
        key, [("/cart/add/", {"variant": v.pk, "quantity": 1}) for v in variants[1:]]
    )

    assert statuses == [200] * SHOPPERS
    assert cart_of(browser) == {v.pk: 1 for v in variants}


def test_eight_adds_of_one_wine_at_once_add_eight(one_shopper):
    browser, key, variants = one_shopper
    wine = variants[0]

    statuses = at_once(
        key, [("/cart/add/", {"variant": wine.pk, "quantity": 1})] * SHOPPERS
    )

    assert statuses == [200] * SHOPPERS
    assert cart_of(browser) == {wine.pk: 1 + SHOPPERS}
