import time

import pytest
import stripe

from stripe_emulator import payments
from stripe_emulator.models import EmulatedEvent, EmulatedObject

from .factories import create_coupon, create_session, paid_session

pytestmark = pytest.mark.django_db


def events(event_type=None):
    rows = EmulatedEvent.objects.order_by("created", "id")
    if event_type:
        rows = rows.filter(type=event_type)
    return [(row.type, row.data["data"]["object"]["id"]) for row in rows]


def move_expiry_to_the_past(session_id):
    row = EmulatedObject.objects.get(pk=session_id)
    row.data["expires_at"] = int(time.time()) - 1
    row.save()


def test_a_successful_card_completes_the_session_paid(stripe_client):
    # given
    session = create_session(stripe_client)

    # when
    payments.pay(
        session.id, "4242 4242 4242 4242", email="ada@example.com", name="Ada Lovelace"
    )

    # then
    session = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (session.status, session.payment_status, session.url) == (
        "complete",
        "paid",
        None,
    )
    assert (session.customer_details.email, session.customer_details.name) == (
        "ada@example.com",
        "Ada Lovelace",
    )
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert intent.id.startswith("pi_")
    assert (intent.status, intent.amount, intent.amount_received, intent.currency) == (
        "succeeded",
        34_000,
        34_000,
        "usd",
    )
    assert intent.metadata.to_dict() == {"order_reference": "CEL-1001"}
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert charge.id.startswith("ch_")
    assert (charge.paid, charge.amount, charge.amount_refunded, charge.refunded) == (
        True,
        34_000,
        0,
        False,
    )
    assert charge.payment_intent == intent.id
    assert charge.payment_method_details.card.last4 == "4242"
    assert events() == [("checkout.session.completed", session.id)]
    completed = EmulatedEvent.objects.get().data["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
    ],
)
def test_a_declined_card_changes_nothing(stripe_client, card, message):
    # given
    session = create_session(stripe_client)

    # when
    with pytest.raises(payments.CardDeclined) as declined:
        payments.pay(session.id, card, name="Ada Lovelace")

    # then
    assert declined.value.message == message
    after = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert after.to_dict() == session.to_dict()
    assert events() == []
    assert not EmulatedObject.objects.filter(type="payment_intent").exists()


def test_after_a_decline_the_shopper_can_pay_with_another_card(stripe_client):
    session = create_session(stripe_client)
    with pytest.raises(payments.CardDeclined):
        payments.pay(session.id, "4000000000000002")

    paid = payments.pay(session.id, "4242424242424242")

    assert paid["payment_status"] == "paid"


def test_a_real_card_number_is_declined_in_test_mode(stripe_client):
    session = create_session(stripe_client)

    with pytest.raises(payments.CardDeclined) as declined:
        payments.pay(session.id, "4111 1111 1111 1111")

    assert declined.value.message.startswith(
        "Your card was declined. Your request was in test mode"
    )


def test_a_complete_session_cannot_be_paid_twice(stripe_client):
    session = paid_session(stripe_client)

    with pytest.raises(payments.SessionNotPayable) as refused:
        payments.pay(session.id, "4242424242424242")

    assert refused.value.message == "This checkout session is already paid."
    assert len(events("checkout.session.completed")) == 1


def test_nothing_due_completes_without_a_card(stripe_client):
    # given a coupon that covers everything
    coupon = create_coupon(stripe_client, percent_off=100)
    session = create_session(stripe_client, discounts=[{"coupon": coupon.id}])
    assert session.amount_total == 0

    # when
    payments.pay(session.id, email="ada@example.com", name="Ada Lovelace")

    # then
    session = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (session.status, session.payment_status, session.payment_intent) == (
        "complete",
        "no_payment_required",
        None,
    )
    assert events() == [("checkout.session.completed", session.id)]


def test_a_bank_debit_completes_unpaid_then_settles(stripe_client):
    # given
    session = create_session(stripe_client)

    # when the shopper pays by bank debit
    payments.pay(session.id, method="bank_debit", name="Ada Lovelace")

    # then the session is complete but the money has not arrived
    pending = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert pending.payment_intent.status == "processing"

    # when the debit settles
    payments.settle(session.id, succeeded=True)

    # then
    settled = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert (settled.status, settled.payment_status) == ("complete", "paid")
    assert settled.payment_intent.status == "succeeded"
    assert settled.payment_intent.latest_charge.paid is True
    assert events() == [
        ("checkout.session.completed", session.id),
        ("checkout.session.async_payment_succeeded", session.id),
    ]


def test_a_failed_bank_debit_leaves_the_session_complete_and_unpaid(stripe_client):
    # given
    session = create_session(stripe_client)
    payments.pay(session.id, method="bank_debit")

    # when
    payments.settle(session.id, succeeded=False)

    # then
    failed = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert (failed.status, failed.payment_status) == ("complete", "unpaid")
    assert failed.payment_intent.status == "requires_payment_method"
    assert failed.payment_intent.last_payment_error.code == "insufficient_funds"
    assert events() == [
        ("checkout.session.completed", session.id),
        ("checkout.session.async_payment_failed", session.id),
    ]
    with pytest.raises(payments.PaymentError):
        payments.settle(session.id, succeeded=True)


def test_a_session_past_expires_at_is_expired_when_next_read(stripe_client):
    # given
    session = create_session(stripe_client)
    move_expiry_to_the_past(session.id)

    # when read twice
    first = stripe_client.v1.checkout.sessions.retrieve(session.id)
    second = stripe_client.v1.checkout.sessions.retrieve(session.id)

    # then
    assert (first.status, second.status) == ("expired", "expired")
    assert events() == [("checkout.session.expired", session.id)]
    event = EmulatedEvent.objects.get().data
    assert event["request"] == {"id": None, "idempotency_key": None}
    with pytest.raises(payments.SessionNotPayable) as refused:
        payments.pay(session.id, "4242424242424242")
    assert refused.value.message == "This checkout session has expired."


def test_a_session_past_expires_at_cannot_be_paid(stripe_client):
    session = create_session(stripe_client)
    move_expiry_to_the_past(session.id)

    with pytest.raises(payments.SessionNotPayable):
        payments.pay(session.id, "4242424242424242")

    assert events() == [("checkout.session.expired", session.id)]


def test_expire_due_expires_open_sessions_whose_time_has_come(stripe_client):
    # given
    soon = create_session(stripe_client, expires_at=int(time.time()) + 3_600)
    later = create_session(stripe_client)
    paid = paid_session(stripe_client, expires_at=int(time.time()) + 3_600)

    # when the clock passes the first expiry
    expired = payments.expire_due(now=soon.expires_at)

    # then
    assert expired == [soon.id]
    assert stripe_client.v1.checkout.sessions.retrieve(later.id).status == "open"
    assert stripe_client.v1.checkout.sessions.retrieve(paid.id).status == "complete"
    assert events("checkout.session.expired") == [("checkout.session.expired", soon.id)]
    assert payments.expire_due(now=soon.expires_at) == []


def test_customer_creation_makes_a_customer_on_payment(stripe_client):
    # given
    session = create_session(stripe_client, customer_creation="always")

    # when
    payments.pay(
        session.id, "4242424242424242", email="ada@example.com", name="Ada Lovelace"
    )

    # then
    session = stripe_client.v1.checkout.sessions.retrieve(session.id)
    customer = stripe_client.v1.customers.retrieve(session.customer)
    assert customer.id.startswith("cus_")
    assert (customer.email, customer.name) == ("ada@example.com", "Ada Lovelace")
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert intent.customer == customer.id


def test_no_customer_without_customer_creation(stripe_client):
    session = paid_session(stripe_client)

    assert session.customer is None
    assert not EmulatedObject.objects.filter(type="customer").exists()


def test_a_full_refund(stripe_client):
    # given
    session = paid_session(stripe_client)

    # when
    refund = stripe_client.v1.refunds.create(
        params={
            "payment_intent": session.payment_intent,
            "reason": "requested_by_customer",
        },
        options={"idempotency_key": "refund-order-7"},
    )

    # then
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert refund.id.startswith("re_")
    assert (refund.object, refund.status, refund.amount, refund.currency) == (
        "refund",
        "succeeded",
        34_000,
        "usd",
    )
    assert (refund.charge, refund.payment_intent) == (intent.latest_charge, intent.id)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (34_000, True)
    [event] = EmulatedEvent.objects.filter(type="charge.refunded")
    assert event.data["data"]["object"]["id"] == charge.id
    assert event.data["data"]["object"]["amount_refunded"] == 34_000
    assert event.data["data"]["object"]["refunded"] is True
    assert event.data["data"]["previous_attributes"] == {
        "amount_refunded": 0,
        "refunded": False,
    }
    assert event.data["request"]["idempotency_key"] == "refund-order-7"


def test_partial_refunds_up_to_the_charge_and_no_further(stripe_client):
    # given
    session = paid_session(stripe_client)
    refunds = stripe_client.v1.refunds
    refunds.create(params={"payment_intent": session.payment_intent, "amount": 4_000})

    # when more than remains is asked
    with pytest.raises(stripe.InvalidRequestError) as error:
        refunds.create(
            params={"payment_intent": session.payment_intent, "amount": 30_001}
        )

    # then
    assert (error.value.param, error.value.code) == ("amount", "amount_too_large")
    assert error.value.user_message == (
        "Refund amount ($300.01) is greater than unrefunded amount on charge ($300.00)"
    )

    # when the rest is refunded, then the charge is refunded and nothing remains
    rest = refunds.create(params={"payment_intent": session.payment_intent})
    assert rest.amount == 30_000
    with pytest.raises(stripe.InvalidRequestError) as error:
        refunds.create(params={"payment_intent": session.payment_intent})
    assert error.value.code == "charge_already_refunded"
    amounts = [
        event.data["data"]["object"]["amount_refunded"]
        for event in EmulatedEvent.objects.filter(type="charge.refunded")
    ]
    assert amounts == [4_000, 34_000]


def test_refunds_need_a_successful_payment(stripe_client):
    session = create_session(stripe_client)
    payments.pay(session.id, method="bank_debit")
    intent = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent

    with pytest.raises(stripe.InvalidRequestError) as unpaid:
        stripe_client.v1.refunds.create(params={"payment_intent": intent})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    with pytest.raises(stripe.InvalidRequestError) as neither:
        stripe_client.v1.refunds.create(params={"amount": 100})

    assert unpaid.value.param == "payment_intent"
    assert (missing.value.param, missing.value.code) == (
        "payment_intent",
        "resource_missing",
    )
    assert neither.value.user_message == (
        "One of the following params should be provided for this request: "
        "payment_intent or charge."
    )
