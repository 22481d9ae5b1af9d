import time

import pytest
import stripe

from stripe_emulator import payments
from stripe_emulator.models import EmulatedEvent, EmulatedObject

from .factories import CANCEL_URL, SUCCESS_URL, create_coupon, create_session, line

pytestmark = pytest.mark.django_db


def test_create_returns_an_open_session_with_exact_totals(stripe_client):
    # when
    before = int(time.time())
    session = create_session(stripe_client)

    # then
    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_a1")
    assert session.url == f"http://shop.test/_stripe/pay/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.mode == "payment"
    assert session.amount_subtotal == 34_000
    assert session.amount_total == 34_000
    assert session.currency == "usd"
    assert session.total_details.to_dict() == {
        "amount_discount": 0,
        "amount_shipping": 0,
        "amount_tax": 0,
    }
    assert session.discounts == []
    assert session.client_reference_id == "CEL-1001"
    assert session.metadata.to_dict() == {"order_reference": "CEL-1001"}
    assert session.customer_email == "ada@example.com"
    assert session.customer is None
    assert session.customer_details is None
    assert session.payment_intent is None
    assert session.success_url == SUCCESS_URL
    assert session.cancel_url == CANCEL_URL
    assert session.livemode is False
    assert before <= session.created <= int(time.time())
    assert session.expires_at == session.created + 24 * 60 * 60


def test_retrieve_answers_the_stored_session(stripe_client):
    # given
    created = create_session(stripe_client)

    # when
    session = stripe_client.v1.checkout.sessions.retrieve(created.id)

    # then
    assert session.to_dict() == created.to_dict()


def test_line_items_list_the_lines_as_sent(stripe_client):
    # given
    session = create_session(stripe_client)

    # when
    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)

    # then
    assert items.object == "list"
    assert items.has_more is False
    assert items.url == f"/v1/checkout/sessions/{session.id}/line_items"
    assert [
        (
            item.description,
            item.quantity,
            item.price.unit_amount,
            item.amount_subtotal,
            item.amount_total,
        )
        for item in items.data
    ] == [
        ("Château Margaux 2015 – 75 cl bottle", 2, 12_500, 25_000, 25_000),
        ("Rioja Reserva 2018 – Case of 6", 1, 9_000, 9_000, 9_000),
    ]
    first = items.data[0]
    assert first.object == "item"
    assert first.id.startswith("li_")
    assert first.currency == "usd"
    assert first.price.object == "price"
    assert first.price.currency == "usd"
    assert first.price.product.startswith("prod_")


def test_line_items_page_like_stripe(stripe_client):
    # given twelve lines: Stripe lists ten by default
    session = create_session(
        stripe_client, line_items=[line(f"Wine {n}", 1_000, 1) for n in range(12)]
    )
    sessions = stripe_client.v1.checkout.sessions

    # when
    first = sessions.line_items.list(session.id)
    rest = sessions.line_items.list(
        session.id, params={"starting_after": first.data[-1].id}
    )
    every = list(first.auto_paging_iter())

    # then
    assert [len(first.data), first.has_more] == [10, True]
    assert [item.description for item in rest.data] == ["Wine 10", "Wine 11"]
    assert rest.has_more is False
    assert [item.description for item in every] == [f"Wine {n}" for n in range(12)]


def test_expand_payment_intent_and_line_items(stripe_client):
    # given
    session = create_session(stripe_client)
    payments.pay(session.id, "4242424242424242", name="Ada Lovelace")

    # when
    expanded = stripe_client.v1.checkout.sessions.retrieve(
        session.id,
        params={"expand": ["payment_intent.latest_charge", "line_items"]},
    )

    # then
    assert expanded.payment_intent.object == "payment_intent"
    assert expanded.payment_intent.amount == 34_000
    assert expanded.payment_intent.latest_charge.object == "charge"
    assert expanded.payment_intent.latest_charge.amount == 34_000
    assert [item.quantity for item in expanded.line_items.data] == [2, 1]


def test_a_property_that_cannot_be_expanded_is_refused(stripe_client):
    session = create_session(stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.retrieve(
            session.id, params={"expand": ["success_url"]}
        )

    assert error.value.user_message == (
        "This property cannot be expanded (success_url)."
    )


def test_expire_closes_an_open_session_and_records_one_event(stripe_client):
    # given
    session = create_session(stripe_client)

    # when
    expired = stripe_client.v1.checkout.sessions.expire(session.id)

    # then
    assert (expired.status, expired.payment_status, expired.url) == (
        "expired",
        "unpaid",
        None,
    )
    events = EmulatedEvent.objects.filter(type="checkout.session.expired")
    assert [event.data["data"]["object"]["id"] for event in events] == [session.id]


def test_only_an_open_session_can_be_expired(stripe_client):
    # given
    session = create_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)

    # when
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.expire(session.id)

    # then
    assert error.value.http_status == 400
    assert error.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired'
    )
    assert EmulatedEvent.objects.filter(type="checkout.session.expired").count() == 1


def test_unknown_session_is_404_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")

    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert error.value.user_message == "No such checkout.session: 'cs_test_nope'"


@pytest.mark.parametrize(
    ("coupon", "discount"),
    [
        ({"amount_off": 1_000, "currency": "usd", "name": "Ten off"}, 1_000),
        ({"percent_off": 12.5, "name": "Twelve and a half"}, 4_250),
        ({"percent_off": 33.33}, 11_332),  # 11332.2 rounds to the nearest cent
        ({"amount_off": 50_000, "currency": "usd"}, 34_000),  # never below zero
    ],
)
def test_a_coupon_discounts_the_subtotal(stripe_client, coupon, discount):
    # given
    coupon = create_coupon(stripe_client, **coupon)

    # when
    session = create_session(stripe_client, discounts=[{"coupon": coupon.id}])

    # then
    assert session.amount_subtotal == 34_000
    assert session.total_details.amount_discount == discount
    assert session.amount_total == 34_000 - discount
    assert [d.to_dict() for d in session.discounts] == [
        {"coupon": coupon.id, "promotion_code": None}
    ]
    items = stripe_client.v1.checkout.sessions.line_items.list(session.id).data
    assert sum(item.amount_discount for item in items) == discount
    assert sum(item.amount_total for item in items) == 34_000 - discount


def test_coupon_shape_and_retrieval(stripe_client):
    # when
    created = create_coupon(
        stripe_client,
        id="CELLAR-ORDER-7",
        amount_off=1_250,
        currency="usd",
        duration="once",
        max_redemptions=1,
        name="Spring sale",
        metadata={"code": "SPRING"},
    )
    coupon = stripe_client.v1.coupons.retrieve("CELLAR-ORDER-7")

    # then
    assert coupon.to_dict() == created.to_dict()
    assert (coupon.object, coupon.id, coupon.amount_off, coupon.currency) == (
        "coupon",
        "CELLAR-ORDER-7",
        1_250,
        "usd",
    )
    assert (coupon.percent_off, coupon.duration, coupon.max_redemptions) == (
        None,
        "once",
        1,
    )
    assert (coupon.times_redeemed, coupon.valid, coupon.livemode) == (0, True, False)
    assert coupon.metadata.to_dict() == {"code": "SPRING"}


def test_a_coupon_is_redeemed_when_its_session_is_paid(stripe_client):
    # given
    coupon = create_coupon(
        stripe_client, amount_off=1_000, currency="usd", max_redemptions=1
    )
    session = create_session(stripe_client, discounts=[{"coupon": coupon.id}])

    # when
    payments.pay(session.id, "4242424242424242")

    # then
    coupon = stripe_client.v1.coupons.retrieve(coupon.id)
    assert (coupon.times_redeemed, coupon.valid) == (1, False)
    with pytest.raises(stripe.InvalidRequestError) as error:
        create_session(stripe_client, discounts=[{"coupon": coupon.id}])
    assert error.value.param == "discounts[0][coupon]"


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"percent_off": 10, "amount_off": 100}, "percent_off", None),
        ({"amount_off": 100}, "currency", None),
        ({"percent_off": 120}, "percent_off", None),
        ({"percent_off": 10, "name": "x" * 41}, "name", None),
        ({"percent_off": 10, "duration": "weekly"}, "duration", None),
        ({"percent_off": "ten"}, "percent_off", "Invalid decimal: ten"),
    ],
)
def test_coupon_parameters_are_validated(stripe_client, params, param, message):
    with pytest.raises(stripe.InvalidRequestError) as error:
        create_coupon(stripe_client, **params)

    assert error.value.param == param
    if message:
        assert error.value.user_message == message


def test_a_coupon_id_is_used_once(stripe_client):
    create_coupon(stripe_client, id="ONCE", percent_off=10)

    with pytest.raises(stripe.InvalidRequestError) as error:
        create_coupon(stripe_client, id="ONCE", percent_off=10)

    assert (error.value.param, error.value.code) == ("id", "resource_already_exists")


def test_a_session_for_an_existing_customer(stripe_client):
    # given
    customer = stripe_client.v1.customers.create(
        params={"email": "grace@example.com", "name": "Grace Hopper"}
    )

    # when
    session = create_session(stripe_client, customer=customer.id, customer_email=None)
    fetched = stripe_client.v1.customers.retrieve(customer.id)

    # then
    assert session.customer == customer.id
    assert (fetched.object, fetched.email, fetched.name) == (
        "customer",
        "grace@example.com",
        "Grace Hopper",
    )


def test_a_deleted_customer_leaves_a_stub_and_takes_no_session(stripe_client):
    # given
    customer = stripe_client.v1.customers.create(params={"email": "old@example.com"})

    # when
    deleted = stripe_client.v1.customers.delete(customer.id)
    fetched = stripe_client.v1.customers.retrieve(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create_session(stripe_client, customer=customer.id, customer_email=None)
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.customers.delete("cus_missing")

    # then: Stripe's deleted_customer example has exactly these fields
    expected = {"id": customer.id, "object": "customer", "deleted": True}
    assert deleted.to_dict() == fetched.to_dict() == expected
    assert (refused.value.param, refused.value.code, refused.value.http_status) == (
        "customer",
        "resource_missing",
        400,
    )
    assert (unknown.value.code, unknown.value.http_status) == ("resource_missing", 404)


@pytest.mark.parametrize(
    ("overrides", "param", "message"),
    [
        (
            {"success_url": None},
            "success_url",
            "Missing required param: success_url.",
        ),
        ({"success_url": "/relative"}, "success_url", "Not a valid URL"),
        ({"line_items": None}, "line_items", "Missing required param: line_items."),
        (
            {"line_items": [{"quantity": 1}]},
            "line_items[0]",
            "You must specify either `price` or `price_data` in line_items[0].",
        ),
        (
            {"line_items": [{"price_data": line("A", 100, 1)["price_data"]}]},
            "line_items[0][quantity]",
            "Missing required param: line_items[0][quantity].",
        ),
        (
            {"line_items": [line("A", 1_000, 0)]},
            "line_items[0][quantity]",
            "Invalid positive integer",
        ),
        (
            {"line_items": [line("A", -1, 1)]},
            "line_items[0][price_data][unit_amount]",
            "Invalid non-negative integer",
        ),
        (
            {"line_items": [line("A", "12.50", 1)]},
            "line_items[0][price_data][unit_amount]",
            "Invalid integer: 12.50",
        ),
        (
            {"line_items": [line("A", 1_000, 1, currency="dollars")]},
            "line_items[0][price_data][currency]",
            None,
        ),
        (
            {"line_items": [line("A", 1_000, 1), line("B", 1_000, 1, "eur")]},
            "line_items[1][price_data][currency]",
            None,
        ),
        (
            {"line_items": [line("A", 1_000, 1, description="")]},
            "line_items[0][price_data][product_data][description]",
            None,
        ),
        ({"mode": "subscription"}, "mode", None),
        ({"mode": "donation"}, "mode", None),
        ({"currency": "eur"}, "currency", None),
        (
            {"customer": "cus_missing", "customer_email": None},
            "customer",
            "No such customer: 'cus_missing'",
        ),
        (
            {"discounts": [{"coupon": "NOPE"}]},
            "discounts[0][coupon]",
            "No such coupon: 'NOPE'",
        ),
        ({"metadata": {"order": {"nested": "x"}}}, "metadata[order]", None),
        ({"customer_email": "not-an-email"}, "customer_email", None),
        ({"customer_creation": "sometimes"}, "customer_creation", None),
    ],
)
def test_session_parameters_are_validated_like_stripe(
    stripe_client, overrides, param, message
):
    # when
    with pytest.raises(stripe.InvalidRequestError) as error:
        create_session(stripe_client, **overrides)

    # then
    assert error.value.http_status == 400
    assert error.value.param == param
    if message:
        assert error.value.user_message == message
    assert not EmulatedObject.objects.filter(type="checkout.session").exists()


def test_empty_string_cannot_unset_a_create_parameter(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        create_session(stripe_client, client_reference_id="")

    assert error.value.user_message.startswith(
        "You passed an empty string for 'client_reference_id'."
    )


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (29 * 60, False),
        (30 * 60 + 5, True),
        (24 * 3600 - 5, True),
        (24 * 3600 + 60, False),
    ],
)
def test_expires_at_must_be_30_minutes_to_24_hours_away(
    stripe_client, offset, accepted
):
    expires_at = int(time.time()) + offset

    if accepted:
        assert (
            create_session(stripe_client, expires_at=expires_at).expires_at
            == expires_at
        )
    else:
        with pytest.raises(stripe.InvalidRequestError) as error:
            create_session(stripe_client, expires_at=expires_at)
        assert error.value.param == "expires_at"


def test_a_total_under_the_minimum_charge_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        create_session(stripe_client, line_items=[line("Corkscrew", 49, 1)])

    assert error.value.code == "amount_too_small"
    assert error.value.user_message == (
        "The Checkout Session's total amount due must add up to at least $0.50 usd"
    )


def test_zero_decimal_currency(stripe_client):
    session = create_session(
        stripe_client, line_items=[line("Sake", 1_200, 3, currency="JPY")]
    )

    assert (session.currency, session.amount_total) == ("jpy", 3_600)


def test_a_shipping_option_is_charged_and_shown_as_stripe_does(stripe_client):
    session = create_session(
        stripe_client,
        shipping_options=[
            {
                "shipping_rate_data": {
                    "type": "fixed_amount",
                    "display_name": "Ground",
                    "fixed_amount": {"amount": 1500, "currency": "usd"},
                    "delivery_estimate": {
                        "minimum": {"unit": "business_day", "value": 2},
                        "maximum": {"unit": "business_day", "value": 5},
                    },
                }
            }
        ],
    )

    lines = session.amount_subtotal
    assert session.amount_total == lines + 1500
    assert session.total_details.amount_shipping == 1500
    rate_id = session.shipping_cost.shipping_rate
    assert session.shipping_cost.to_dict() == {
        "amount_subtotal": 1500,
        "amount_tax": 0,
        "amount_total": 1500,
        "shipping_rate": rate_id,
    }
    assert [o.to_dict() for o in session.shipping_options] == [
        {"shipping_amount": 1500, "shipping_rate": rate_id}
    ]
    rate = stripe_client.v1.shipping_rates.retrieve(rate_id)
    assert (rate.display_name, rate.fixed_amount.amount, rate.type) == (
        "Ground",
        1500,
        "fixed_amount",
    )


def test_a_shipping_option_in_another_currency_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create_session(
            stripe_client,
            shipping_options=[
                {
                    "shipping_rate_data": {
                        "type": "fixed_amount",
                        "display_name": "Ground",
                        "fixed_amount": {"amount": 1500, "currency": "eur"},
                    }
                }
            ],
        )
    assert refused.value.param == (
        "shipping_options[0][shipping_rate_data][fixed_amount][currency]"
    )
