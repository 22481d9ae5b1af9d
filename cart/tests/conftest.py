import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from products.tests import factories


@pytest.fixture
def wines(db):
    """Variants in every state a cart meets, at known prices and stock."""
    country = factories.country("Cartland")
    region = factories.region("Basket Valley", country)
    v = factories.variant
    red = factories.wine(
        region, "Cart Red", variants=[v("10.00", stock=10, sku="CART-RED")]
    )
    white = factories.wine(
        region,
        "Cart White",
        colour="white",
        variants=[
            v("25.50", stock=3, sku="CART-WHITE"),
            v("0.99", stock=50, active=False, sku="CART-OFF", label="Half"),
        ],
    )
    gone = factories.wine(
        region, "Cart Gone", variants=[v("40.00", stock=0, sku="CART-SOLD")]
    )
    hidden = factories.wine(
        region, "Cart Hidden", variants=[v("15.00", stock=9, sku="CART-HIDDEN")]
    )
    hidden.unpublish()
    by_sku = {
        variant.sku: variant
        for page in (red, white, gone, hidden)
        for variant in page.variants.all()
    }
    return {
        "red": by_sku["CART-RED"],
        "white": by_sku["CART-WHITE"],
        "inactive": by_sku["CART-OFF"],
        "sold_out": by_sku["CART-SOLD"],
        "unpublished": by_sku["CART-HIDDEN"],
    }


@pytest.fixture
def cart_request(db):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request
