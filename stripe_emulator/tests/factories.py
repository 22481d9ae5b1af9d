"""Checkout Sessions and coupons made through the real SDK, as the shop makes them."""

from stripe_emulator import payments

SUCCESS_URL = "http://shop.test/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://shop.test/checkout/cancel/"


def line(name, unit_amount, quantity, currency="usd", **product_data):
    return {
        "price_data": {
            "currency": currency,
            "unit_amount": unit_amount,
            "product_data": {"name": name, **product_data},
        },
        "quantity": quantity,
    }


def session_params(**overrides):
    """Two lines: 2 x $125.00 + 1 x $90.00 = $340.00."""
    params = {
        "mode": "payment",
        "line_items": [
            line(
                "Château Margaux 2015 – 75 cl bottle",
                12_500,
                2,
                metadata={"sku": "CM15"},
            ),
            line("Rioja Reserva 2018 – Case of 6", 9_000, 1),
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "CEL-1001",
        "metadata": {"order_reference": "CEL-1001"},
        "payment_intent_data": {"metadata": {"order_reference": "CEL-1001"}},
        "customer_email": "ada@example.com",
    }
    params.update(overrides)
    return params


def create_session(client, **overrides):
    return client.v1.checkout.sessions.create(params=session_params(**overrides))


def create_coupon(client, **params):
    return client.v1.coupons.create(params=params)


def paid_session(client, **overrides):
    session = create_session(client, **overrides)
    payments.pay(session.id, "4242 4242 4242 4242", name="Ada Lovelace")
    return client.v1.checkout.sessions.retrieve(session.id)
