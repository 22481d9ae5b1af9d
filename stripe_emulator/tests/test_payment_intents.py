"""PaymentIntents through the real SDK: created, updated, confirmed with Stripe's
test PaymentMethods (declines as 402 card errors, 3-D Secure as requires_action
with a page to pass or fail), cancelled; shapes checked against Stripe's examples."""

import json
from pathlib import Path

import pytest
import stripe
from django.test import Client

from stripe_emulator.models import EmulatedEvent

pytestmark = pytest.mark.django_db
FIXTURES = json.loads((Path(__file__).parent / "stripe_fixtures.json").read_text())


def create(client, **params):
    return client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "automatic_payment_methods": {"enabled": True},
            "metadata": {"order_reference": "C-TEST123"},
            **params,
        }
    )


def events(kind):
    return [event.data for event in EmulatedEvent.objects.filter(type=kind)]


def test_created_intent_has_stripes_shape(stripe_client):
    intent = create(stripe_client)

    data = intent.to_dict()
    assert set(data) == set(FIXTURES["payment_intent"])
    assert data["id"].startswith("pi_")
    assert data["client_secret"].startswith(f"{intent.id}_secret_")
    assert (data["status"], data["amount"], data["currency"]) == (
        "requires_payment_method",
        4200,
        "usd",
    )
    assert data["automatic_payment_methods"] == {
        "allow_redirects": "always",
        "enabled": True,
    }
    assert data["metadata"] == {"order_reference": "C-TEST123"}
    assert stripe_client.v1.payment_intents.retrieve(intent.id).to_dict() == data
    assert [e["data"]["object"]["id"] for e in events("payment_intent.created")] == [
        intent.id
    ]


def test_confirming_with_a_visa_succeeds_with_a_card_charge(stripe_client):
    intent = create(stripe_client)

    confirmed = stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )

    assert (confirmed.status, confirmed.amount_received) == ("succeeded", 4200)
    charge = stripe_client.v1.charges.retrieve(confirmed.latest_charge)
    assert set(charge.to_dict()) == set(FIXTURES["charge"]) - {"refunds"}
    assert (charge.status, charge.paid, charge.amount) == ("succeeded", True, 4200)
    card = charge.payment_method_details.card
    assert (card.brand, card.last4) == ("visa", "4242")
    assert charge.metadata.to_dict() == {"order_reference": "C-TEST123"}
    (succeeded,) = events("payment_intent.succeeded")
    assert succeeded["data"]["object"]["status"] == "succeeded"


@pytest.mark.parametrize(
    "method, code, decline_code, message",
    [
        (
            "pm_card_chargeDeclined",
            "card_declined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ],
)
def test_a_decline_is_a_402_card_error_and_the_same_intent_can_be_paid(
    stripe_client, method, code, decline_code, message
):
    intent = create(stripe_client)

    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": method}
        )

    error = declined.value
    assert (error.http_status, error.code, error.user_message) == (402, code, message)
    assert error.error.decline_code == decline_code
    assert error.error.payment_intent.id == intent.id
    after = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method"
    assert (after.last_payment_error.code, after.last_payment_error.decline_code) == (
        code,
        decline_code,
    )
    failed = stripe_client.v1.charges.retrieve(after.latest_charge)
    assert (failed.status, failed.failure_code) == ("failed", code)
    assert len(events("payment_intent.payment_failed")) == 1

    # the shopper tries another card on the same intent
    paid = stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert (paid.status, paid.last_payment_error) == ("succeeded", None)


def test_a_declined_confirmation_is_replayed_by_its_idempotency_key(stripe_client):
    intent = create(stripe_client)
    options = {"idempotency_key": "confirm-once"}

    for _ in range(2):
        with pytest.raises(stripe.CardError):
            stripe_client.v1.payment_intents.confirm(
                intent.id,
                params={"payment_method": "pm_card_chargeDeclined"},
                options=options,
            )

    assert len(events("payment_intent.payment_failed")) == 1


def test_three_d_secure_waits_for_the_shopper_then_succeeds_or_fails(stripe_client):
    passed, failed = create(stripe_client), create(stripe_client)
    shopper = Client()
    for intent, outcome in ((passed, "complete"), (failed, "fail")):
        confirmed = stripe_client.v1.payment_intents.confirm(
            intent.id,
            params={
                "payment_method": "pm_card_threeDSecure2Required",
                "return_url": "http://shop.test/checkout/done/",
            },
        )
        assert confirmed.status == "requires_action"
        url = confirmed.next_action.redirect_to_url.url
        assert url == f"http://shop.test/_stripe/authenticate/{intent.id}"
        page = shopper.get(url.removeprefix("http://shop.test"))
        assert "Complete authentication" in page.content.decode()

        answer = shopper.post(
            url.removeprefix("http://shop.test"), {"outcome": outcome}
        )

        assert answer.status_code == 303
        status = "succeeded" if outcome == "complete" else "failed"
        assert answer["Location"] == (
            f"http://shop.test/checkout/done/?payment_intent={intent.id}"
            f"&payment_intent_client_secret={intent.client_secret}"
            f"&redirect_status={status}"
        )

    assert stripe_client.v1.payment_intents.retrieve(passed.id).status == "succeeded"
    after = stripe_client.v1.payment_intents.retrieve(failed.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "payment_intent_authentication_failure"


def test_update_changes_an_unpaid_intent_only(stripe_client):
    intent = create(stripe_client)

    updated = stripe_client.v1.payment_intents.update(
        intent.id, params={"amount": 5000, "metadata": {"cart": "v2"}}
    )
    assert updated.amount == 5000
    assert updated.metadata.to_dict() == {"order_reference": "C-TEST123", "cart": "v2"}

    stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.update(intent.id, params={"amount": 1})
    assert refused.value.code == "payment_intent_unexpected_state"


def test_cancel_ends_an_unpaid_intent_not_a_paid_one(stripe_client):
    unpaid, paid = create(stripe_client), create(stripe_client)
    stripe_client.v1.payment_intents.confirm(
        paid.id, params={"payment_method": "pm_card_visa"}
    )

    canceled = stripe_client.v1.payment_intents.cancel(
        unpaid.id, params={"cancellation_reason": "abandoned"}
    )

    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    assert len(events("payment_intent.canceled")) == 1
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.cancel(paid.id)
    assert refused.value.code == "payment_intent_unexpected_state"
    assert "status of succeeded" in refused.value.user_message
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.confirm(
            unpaid.id, params={"payment_method": "pm_card_visa"}
        )


def test_create_and_confirm_at_once(stripe_client):
    intent = create(stripe_client, confirm=True, payment_method="pm_card_visa")
    assert intent.status == "succeeded"


@pytest.mark.parametrize(
    "params, param",
    [
        ({"amount": 20}, "amount"),
        ({"currency": "xyz"}, "currency"),
        ({"automatic_payment_methods": {"enabled": "maybe"}}, None),
    ],
)
def test_bad_parameters_are_refused_like_stripe(stripe_client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(stripe_client, **params)
    if param:
        assert refused.value.param == param


def test_an_unknown_intent_is_404_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.payment_intents.confirm(
            "pi_nope", params={"payment_method": "pm_card_visa"}
        )
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
