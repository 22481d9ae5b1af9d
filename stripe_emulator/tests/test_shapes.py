"""Emulated objects have the fields of Stripe's published examples.

``stripe_fixtures.json`` holds the examples from Stripe's OpenAPI fixtures
(github.com/stripe/openapi, ``fixtures3.json``) for the objects the shop reads.
"""

import json
from pathlib import Path

import pytest

from stripe_emulator.models import EmulatedEvent

from .factories import create_coupon, paid_session

pytestmark = pytest.mark.django_db
FIXTURES = json.loads((Path(__file__).parent / "stripe_fixtures.json").read_text())
# Since API version 2022-11-15 a charge lists its refunds only when expanded.
NOT_INCLUDED = {"charge": {"refunds"}}
PREFIXES = {
    "checkout.session": "cs_test_",
    "customer": "cus_",
    "payment_intent": "pi_",
    "charge": "ch_",
    "refund": "re_",
    "item": "li_",
    "price": "price_",
    "event": "evt_",
}


@pytest.fixture
def emulated(stripe_client):
    coupon = create_coupon(stripe_client, percent_off=10)
    session = paid_session(
        stripe_client,
        customer_creation="always",
        discounts=[{"coupon": coupon.id}],
    )
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    return {
        "checkout.session": session,
        "coupon": coupon,
        "customer": stripe_client.v1.customers.retrieve(session.customer),
        "payment_intent": intent,
        "charge": stripe_client.v1.charges.retrieve(intent.latest_charge),
        "refund": refund,
        "item": items.data[0],
        "price": items.data[0].price,
        "event": EmulatedEvent.objects.first().data,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "checkout.session",
        "coupon",
        "customer",
        "payment_intent",
        "charge",
        "refund",
        "item",
        "price",
        "event",
    ],
)
def test_fields_match_stripes_example(emulated, kind):
    # given
    example = FIXTURES[kind]
    obj = emulated[kind]
    obj = obj if isinstance(obj, dict) else obj.to_dict()

    # then
    assert set(obj) == set(example) - NOT_INCLUDED.get(kind, set())
    assert obj["object"] == example["object"]
    assert obj.get("livemode", False) is False
    assert obj["id"].startswith(PREFIXES.get(kind, ""))


def test_nested_fields_match_stripes_example(emulated):
    session = emulated["checkout.session"].to_dict()
    example = FIXTURES["checkout.session"]

    assert set(session["total_details"]) == set(example["total_details"])
    assert set(session["customer_details"]) == set(example["customer_details"])
    assert set(session["customer_details"]["address"]) == set(
        example["customer_details"]["address"]
    )
    charge = emulated["charge"].to_dict()
    assert set(charge["billing_details"]) == set(FIXTURES["charge"]["billing_details"])


def test_a_product_is_stored_for_each_line(emulated, stripe_client):
    item = stripe_client.v1.checkout.sessions.line_items.list(
        emulated["checkout.session"].id, params={"expand": ["data.price.product"]}
    ).data[0]

    assert set(item.price.product.to_dict()) == set(FIXTURES["product"])
    assert item.price.product.name == "Château Margaux 2015 – 75 cl bottle"
    assert item.price.product.metadata.to_dict() == {"sku": "CM15"}
