import json

import pytest
from django.test import Client

from conftest import shop_without_shipping
from orders.models import Order
from stripe_emulator import webhooks

CONTACT = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "address_line1": "12 Analytical Row",
    "address_line2": "",
    "city": "London",
    "postal_code": "EC1A 1BB",
    "country": "GB",
    "legal_age": "on",
}


@pytest.fixture
def shopper(client, wines):
    """A client with 2 × red (10.00) and 1 × white (25.50) in the cart."""
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    return client


def check_out(client, **changes):
    return client.post("/checkout/", {**CONTACT, **changes})


def session_id_of(response):
    assert response.status_code == 303, response.content[:500]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def another_event_about(event, type):
    """A new event (its own id) about the same object, signed as Stripe would."""
    data = dict(json.loads(webhooks.payload(event)), id=f"{event.id}_more")
    data["type"] = type
    body = json.dumps(data)
    return Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )


@pytest.fixture
def placed(shopper):
    """A pending order with its Checkout Session: (client, order, session id)."""
    session_id = session_id_of(check_out(shopper))
    return shopper, Order.objects.get(stripe_session_id=session_id), session_id


@pytest.fixture
def buy(wines, pay_for):
    """Place an order of ``wines`` as a new shopper (see ``pay_for``)."""

    def place(lines=(("red", 1),), **options):
        return pay_for([(wines[key], quantity) for key, quantity in lines], **options)

    return place


@pytest.fixture(autouse=True)
def _no_shipping_unless_set(request):
    shop_without_shipping(request)
