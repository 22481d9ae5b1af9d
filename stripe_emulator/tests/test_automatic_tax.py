"""Stripe Tax on Checkout Sessions: the tax for the Customer's shipping address,
per line after the discount and on the shipping, rounded once each."""

import pytest
import stripe

from stripe_emulator import payments

from .factories import create_coupon, create_session, line

pytestmark = pytest.mark.django_db

NEW_YORK = {
    "name": "Ada Lovelace",
    "address": {
        "line1": "350 Fifth Avenue",
        "city": "New York",
        "state": "NY",
        "postal_code": "10118",
        "country": "US",
    },
}


def taxed_lines(behavior):
    return [
        {**item, "price_data": {**item["price_data"], "tax_behavior": behavior}}
        for item in (
            line("Château Margaux 2015 – 75 cl bottle", 12_500, 2),
            line("Rioja Reserva 2018 – Case of 6", 9_000, 1),
        )
    ]


def ground(behavior):
    return [
        {
            "shipping_rate_data": {
                "type": "fixed_amount",
                "display_name": "Ground",
                "fixed_amount": {"amount": 1500, "currency": "usd"},
                "tax_behavior": behavior,
            }
        }
    ]


@pytest.fixture
def customer(stripe_client):
    return stripe_client.v1.customers.create(
        params={"email": "ada@example.com", "shipping": NEW_YORK}
    )


def taxed_session(client, customer, behavior="exclusive", **overrides):
    params = {
        "line_items": taxed_lines(behavior),
        "shipping_options": ground(behavior),
        "automatic_tax": {"enabled": True},
        "customer": customer.id,
        **overrides,
    }
    params.pop("customer_email", None)
    return create_session(client, customer_email=None, **params)


def test_exclusive_tax_is_added_line_by_line_and_on_the_shipping(
    stripe_client, customer
):
    # New York 8.875%: 250.00 → 22.1875 → 22.19; 90.00 → 7.9875 → 7.99; the
    # shipping 15.00 → 1.33125 → 1.33
    session = taxed_session(stripe_client, customer)

    assert session.automatic_tax.to_dict() == {
        "enabled": True,
        "liability": {"type": "self"},
        "provider": "stripe",
        "status": "complete",
    }
    assert session.total_details.amount_tax == 2219 + 799 + 133
    assert session.amount_total == 34_000 + 1500 + 3151
    assert session.shipping_cost.amount_tax == 133
    assert session.shipping_cost.amount_total == 1633
    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.amount_tax, i.amount_total) for i in items.data] == [
        (2219, 27_219),
        (799, 9799),
    ]


def test_inclusive_tax_is_found_inside_the_prices_and_a_discount_lowers_it(
    stripe_client, customer, settings
):
    settings.STRIPE_EMULATOR_TAX_RATES = {("US", ""): ("VAT", "20", "Test")}
    coupon = create_coupon(stripe_client, amount_off=4000, currency="usd")

    # 40.00 off 340.00 spread 29.41 / 10.59: 220.59 → 36.765 → 36.77 of VAT,
    # 79.41 → 13.235 → 13.24; the shipping 15.00 → 2.50
    session = taxed_session(
        stripe_client,
        customer,
        "inclusive",
        discounts=[{"coupon": coupon.id}],
    )
    session = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["total_details.breakdown"]}
    )

    assert session.amount_total == 34_000 - 4000 + 1500
    assert session.total_details.amount_tax == 3677 + 1324 + 250
    (tax,) = session.total_details.breakdown.taxes
    assert (tax.amount, tax.taxable_amount, tax.taxability_reason) == (
        5251,
        34_000 - 4000 + 1500 - 5251,
        "standard_rated",
    )
    assert (tax.rate.display_name, tax.rate.percentage, tax.rate.country) == (
        "VAT",
        20.0,
        "US",
    )
    assert session.total_details.breakdown.discounts[0].amount == 4000


def test_the_payment_charges_the_total_with_its_tax(stripe_client, customer):
    session = taxed_session(stripe_client, customer)

    payments.pay(session.id, "4242 4242 4242 4242", name="Ada Lovelace")

    paid = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert paid.payment_intent.amount == session.amount_total == 38_651


def test_a_place_without_a_registration_pays_no_tax(stripe_client):
    oregon = {**NEW_YORK, "address": {**NEW_YORK["address"], "state": "OR"}}
    customer = stripe_client.v1.customers.create(params={"shipping": oregon})

    session = taxed_session(stripe_client, customer)

    assert (session.total_details.amount_tax, session.amount_total) == (0, 35_500)


@pytest.mark.parametrize(
    ("changes", "param", "message"),
    [
        (
            {"line_items": [line("Rioja", 9000, 1)]},
            "line_items[0][price_data][tax_behavior]",
            "Automatic tax requires every price to have a tax_behavior",
        ),
        (
            {"shipping_options": ground("unspecified")},
            "shipping_options[0][shipping_rate_data][tax_behavior]",
            "Automatic tax requires the shipping rate to have a tax_behavior",
        ),
        (
            {"customer": "no address"},
            "customer_update",
            "Automatic tax calculation in Checkout requires a valid address on the "
            "Customer.",
        ),
    ],
)
def test_what_stripe_tax_needs_is_asked_for(
    stripe_client, customer, changes, param, message
):
    if changes.pop("customer", None):
        customer = stripe_client.v1.customers.create(params={"email": "x@example.com"})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        taxed_session(stripe_client, customer, **changes)

    assert refused.value.param == param
    assert refused.value.user_message.startswith(message)


def test_a_customers_addresses_are_kept_and_updated_as_stripe_keeps_them(
    stripe_client, customer
):
    assert customer.shipping.to_dict() == {
        "name": "Ada Lovelace",
        "phone": None,
        "address": {**NEW_YORK["address"], "line2": None},
    }

    updated = stripe_client.v1.customers.update(
        customer.id,
        params={"shipping": {**NEW_YORK, "address": {"country": "GB", "city": "Bath"}}},
    )

    assert updated.shipping.address.to_dict() == {
        "city": "Bath",
        "country": "GB",
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    assert updated.email == "ada@example.com"
    assert stripe_client.v1.customers.retrieve(customer.id).to_dict() == (
        updated.to_dict()
    )
