import pytest

from checkout.models import Order

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


@pytest.fixture
def placed(shopper):
    """A pending order with its Checkout Session: (client, order, session id)."""
    session_id = session_id_of(check_out(shopper))
    return shopper, Order.objects.get(stripe_session_id=session_id), session_id


@pytest.fixture
def buy(wines, django_capture_on_commit_callbacks):
    """Place an order as a new shopper; pay it (4242) and deliver Stripe's events
    unless ``pay=False``. Invoices render on commit, as a worker would."""
    from django.test import Client

    from stripe_emulator import payments, webhooks

    def place(
        lines=(("red", 1),),
        email="ada@example.com",
        name="Ada Lovelace",
        coupon=None,
        pay=True,
    ):
        shopper = Client()
        for key, quantity in lines:
            shopper.post("/cart/add/", {"variant": wines[key].pk, "quantity": quantity})
        if coupon:
            shopper.post("/cart/coupon/", {"code": coupon})
        session_id = session_id_of(check_out(shopper, email=email, name=name))
        if pay:
            payments.pay(session_id, "4242424242424242")
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.deliver_pending(
                    transport=webhooks.django_client_transport(Client())
                )
        return Order.objects.get(stripe_session_id=session_id)

    return place
