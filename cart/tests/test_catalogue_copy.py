"""The cart's display reads come from this process's copy of the variants, kept by
catalogue version (cart/services.py, pagecache.VersionedRows): a change shows on
the next request, and checkout always charges what the database says."""

from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from checkout.stripe_api import client as stripe_client
from checkout.tests.conftest import CONTACT, session_id_of
from orders.models import Order


def read(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, len(queries)


def lines(client):
    return [
        (item["sku"], item["quantity"], item["unit_price"], item["line_total"])
        for item in client.get("/cart/api/").json()["items"]
    ]


def test_warm_cart_reads_cost_only_the_session(page_cache, client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    for url in ("/cart/", "/cart/api/"):
        read(client, url)  # the first read fills the copies

    page, page_queries = read(client, "/cart/")
    api, api_queries = read(client, "/cart/api/")

    # The one query is the session (in the database under the test settings; a
    # Redis read in production).
    assert (page_queries, api_queries) == (1, 1)
    assert [(i["sku"], i["line_total"]) for i in api.json()["items"]] == [
        ("CART-RED", "20.00"),
        ("CART-WHITE", "25.50"),
    ]
    assert api.json()["items"][0]["url"] == wines["red"].page.url
    html = page.content.decode()
    assert f'<a href="{wines["red"].page.url}">Cart Red 2020</a>' in html
    assert "$45.50" in html


def test_a_saved_price_shows_in_the_cart_on_the_next_request(page_cache, client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    assert lines(client) == [("CART-RED", 2, "10.00", "20.00")]

    # An editor changes the price and publishes.
    page = wines["red"].page.specific
    variant = page.variants.get()
    variant.price = Decimal("12.50")
    page.variants = [variant]
    page.save_revision().publish()

    assert lines(client) == [("CART-RED", 2, "12.50", "25.00")]
    assert "$25.00" in client.get("/cart/").content.decode()


def test_stock_taken_by_a_paid_order_caps_the_cart_at_once(page_cache, wines, pay_for):
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 5})
    assert lines(shopper) == [("CART-RED", 5, "10.00", "50.00")]

    pay_for([(wines["red"], 8)])  # another shopper takes 8 of the 10

    cart = shopper.get("/cart/api/").json()
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [("CART-RED", 2)]
    assert cart["notices"] == [
        "Only 2 of Cart Red (75 cl bottle) left: your cart now holds 2."
    ]


def test_checkout_charges_the_database_price_even_over_a_stale_copy(
    page_cache, client, wines
):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    assert lines(client) == [("CART-RED", 2, "10.00", "20.00")]

    # A write behind the ORM's back (no signal, no new catalogue version): this
    # process's copy is now stale, and the cart still shows it.
    type(wines["red"]).objects.filter(pk=wines["red"].pk).update(price=Decimal("11.00"))
    assert lines(client) == [("CART-RED", 2, "10.00", "20.00")]

    # Checkout reads the database: the page, the order and the Checkout Session.
    assert "$22.00" in client.get("/checkout/").content.decode()
    session_id = session_id_of(client.post("/checkout/", CONTACT))
    order = Order.objects.get(stripe_session_id=session_id)
    assert [(line.sku, line.unit_price) for line in order.lines.all()] == [
        ("CART-RED", Decimal("11.00"))
    ]
    assert order.total == Decimal("22.00")
    assert stripe_client().v1.checkout.sessions.retrieve(session_id).amount_total == (
        2200
    )


def test_two_shoppers_reading_the_same_copies_keep_their_own_carts(page_cache, wines):
    alice, bob = Client(), Client()
    alice.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    bob.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 3})
    bob.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 4})

    for _ in range(2):
        assert lines(alice) == [("CART-RED", 1, "10.00", "10.00")]
        assert lines(bob) == [
            ("CART-WHITE", 3, "25.50", "76.50"),
            ("CART-RED", 4, "10.00", "40.00"),
        ]
