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


# --- What Stripe.js asks from the shopper's browser ---------------------------


def browser_confirm(intent, number, **extra):
    return Client().post(
        f"/_stripe/v1/payment_intents/{intent.id}/confirm",
        {
            "key": "pk_test_emulator",
            "client_secret": intent.client_secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "34",
            "payment_method_data[card][cvc]": "123",
            "return_url": "https://shop.example/checkout/success/",
            **extra,
        },
    )


def test_the_browser_confirms_with_the_publishable_key_and_client_secret(
    stripe_client,
):
    intent = create(stripe_client)

    response = browser_confirm(intent, "4242 4242 4242 4242")

    assert response.status_code == 200
    body = response.json()
    # Only the client-side fields: no metadata, customer or charge for the browser
    assert set(body) == {
        "id",
        "object",
        "amount",
        "automatic_payment_methods",
        "canceled_at",
        "cancellation_reason",
        "capture_method",
        "client_secret",
        "confirmation_method",
        "created",
        "currency",
        "description",
        "last_payment_error",
        "livemode",
        "next_action",
        "payment_method",
        "payment_method_types",
        "processing",
        "receipt_email",
        "setup_future_usage",
        "shipping",
        "status",
    }
    assert set(body) <= set(FIXTURES["payment_intent"])
    assert (body["id"], body["status"]) == (intent.id, "succeeded")
    retrieved = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert retrieved.status == "succeeded"
    assert Client().get(
        f"/_stripe/v1/payment_intents/{intent.id}",
        {"key": "pk_test_emulator", "client_secret": intent.client_secret},
    ).json() == {**body, "status": "succeeded"}


def test_the_browser_gets_stripes_card_error_and_can_try_again(stripe_client):
    intent = create(stripe_client)

    declined = browser_confirm(intent, "4000000000009995")

    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert error["message"] == "Your card has insufficient funds."
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert "metadata" not in error["payment_intent"]
    assert browser_confirm(intent, "4242424242424242").json()["status"] == "succeeded"


def test_three_d_secure_from_the_browser_points_to_the_banks_page(
    stripe_client, settings
):
    settings.SITE_URL = "http://testserver"
    intent = create(stripe_client)

    body = browser_confirm(intent, "4000002500003155").json()

    assert body["status"] == "requires_action"
    assert body["next_action"] == {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": f"http://testserver/_stripe/authenticate/{intent.id}",
            "return_url": "https://shop.example/checkout/success/",
        },
    }


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"key": "sk_test_emulator"}, 401, None),
        ({"key": ""}, 401, None),
        ({"client_secret": "pi_x_secret_y"}, 400, "client_secret"),
    ],
)
def test_the_browser_needs_the_publishable_key_and_the_intents_secret(
    stripe_client, change, status, param
):
    intent = create(stripe_client)

    response = browser_confirm(intent, "4242424242424242", **change)

    assert response.status_code == status
    assert response.json()["error"].get("param") == param
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == (
        "requires_payment_method"
    )


def test_a_real_card_number_is_declined_as_in_test_mode(stripe_client):
    intent = create(stripe_client)

    response = browser_confirm(intent, "4111 1111 1111 1112")

    assert response.status_code == 402
    assert response.json()["error"]["decline_code"] == "live_mode_test_card"


def test_a_bank_debit_processes_until_it_settles(stripe_client):
    from stripe_emulator import intents

    intent = create(stripe_client)
    processing = stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": intents.BANK_DEBIT}
    )
    assert processing.status == "processing"
    assert [e["type"] for e in events("payment_intent.processing")] == [
        "payment_intent.processing"
    ]

    settled = intents.settle(intent.id, succeeded=True)

    assert (settled["status"], settled["amount_received"]) == ("succeeded", 4200)
    charge = stripe_client.v1.charges.retrieve(settled["latest_charge"])
    assert (charge.status, charge.paid, charge.amount_captured) == (
        "succeeded",
        True,
        4200,
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.cancel(intent.id)
