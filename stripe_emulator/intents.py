"""PaymentIntents: a payment taken on the shop's own page (the Payment Element), as
Stripe's API runs it, confirmed with Stripe's test PaymentMethods or test cards.

States: ``requires_payment_method`` → (confirm) ``succeeded``, or back to
``requires_payment_method`` with ``last_payment_error`` on a decline (the same
intent can be confirmed again), or ``requires_action`` for 3-D Secure until the
shopper approves or fails it (``authenticate``); ``canceled`` from any state but
succeeded. Each change records its event (``payment_intent.*``).
"""

import datetime

from django.conf import settings
from django.db import transaction

from . import objects, store
from .errors import CardError, InvalidRequest, resource_missing
from .payments import TEST_CARDS, TestCard, charge_internal
from .webhooks import record_event

# https://docs.stripe.com/testing#cards: the PaymentMethods tests confirm with
THREE_D_SECURE = TestCard("4000002500003155", "visa", "Requires 3-D Secure")
CARDS = {**TEST_CARDS, THREE_D_SECURE.number: THREE_D_SECURE}
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_authenticationRequired": THREE_D_SECURE.number,
    "pm_card_threeDSecure2Required": THREE_D_SECURE.number,
}
# The emulator's own: a bank debit that stays ``processing`` until ``settle``
# (Stripe's test bank accounts do the same over days).
BANK_DEBIT = "pm_emulator_bankDebit"
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
# A debit under way (processing) cannot be cancelled, as at Stripe but for rare
# payment methods.
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
)
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different "
    "payment method and try again."
)


def create(*, amount, currency, metadata, customer, description, receipt_email):
    intent = objects.payment_intent(
        amount=amount,
        currency=currency,
        status="requires_payment_method",
        customer=customer,
        metadata=metadata,
        payment_method=None,
        method_type="card",
    )
    intent.update(
        automatic_payment_methods={"allow_redirects": "always", "enabled": True},
        capture_method="automatic_async",
        description=description,
        receipt_email=receipt_email,
        payment_method_configuration_details={
            "id": store.new_id("pmc"),
            "parent": None,
        },
    )
    store.save(intent)
    record_event("payment_intent.created", intent)
    return intent


def load(intent_id, *, for_update=False):
    intent = store.load("payment_intent", intent_id, for_update=for_update)
    if intent is None:
        raise InvalidRequest(
            f"No such payment_intent: '{intent_id}'",
            param="intent",
            code="resource_missing",
            status=404,
        )
    return intent


def update(intent_id, changes):
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "update")
        intent.update(changes)
        store.save(intent)
    return intent


def confirm(intent_id, payment_method, *, return_url=None):
    """Confirm with a test PaymentMethod (``pm_card_visa``…) or a test card number.

    A decline raises CardError (402, ``code``/``decline_code``, the intent with its
    ``last_payment_error``) and leaves the intent confirmable again.
    """
    if payment_method == BANK_DEBIT:
        return _start_debit(intent_id)
    number = TEST_PAYMENT_METHODS.get(payment_method, payment_method)
    card = CARDS.get(number)
    if card is None:
        raise resource_missing("payment_method", payment_method, param="payment_method")
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "confirm")
        method_id = store.new_id("pm")
        intent.update(
            payment_method=method_id, last_payment_error=None, next_action=None
        )
        if card is THREE_D_SECURE:
            intent.update(
                status="requires_action",
                next_action={
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "url": f"{settings.SITE_URL}/_stripe/authenticate/"
                        f"{intent['id']}",
                        "return_url": return_url,
                    },
                },
            )
            store.save(intent, internal={"card": card.number})
            record_event("payment_intent.requires_action", intent)
            return intent
        if card.declines:
            error = _decline(intent, card)
            store.save(intent)
            record_event("payment_intent.payment_failed", intent)
        else:
            _succeed(intent, card)
            return intent
    raise error


def authenticate(intent_id, approved):
    """The shopper's answer on the 3-D Secure page."""
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] != "requires_action":
            raise _unexpected_state(intent, "authenticate")
        card = CARDS[store.internal(intent["id"]).get("card", THREE_D_SECURE.number)]
        intent["next_action"] = None
        if approved:
            _succeed(intent, card)
        else:
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "payment_intent_authentication_failure",
                    "doc_url": "https://stripe.com/docs/error-codes/"
                    "payment-intent-authentication-failure",
                    "message": AUTHENTICATION_FAILED,
                    "payment_method": {"id": intent["payment_method"]},
                    "type": "invalid_request_error",
                },
            )
            store.save(intent)
            record_event("payment_intent.payment_failed", intent)
    return intent


def _start_debit(intent_id):
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "confirm")
        details = objects.bank_debit_details(intent["currency"])
        intent.update(
            status="processing",
            payment_method=store.new_id("pm"),
            payment_method_types=[details["type"]],
            last_payment_error=None,
            next_action=None,
        )
        charge = objects.charge(
            intent=intent,
            status="pending",
            billing_email=intent["receipt_email"],
            billing_name=None,
            payment_method_details=details,
        )
        intent["latest_charge"] = charge["id"]
        store.save(charge)
        store.save(intent)
        record_event("payment_intent.processing", intent)
    return intent


def settle(intent_id, succeeded):
    """A bank debit clears or fails, days later at Stripe: now, in the emulator."""
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] != "processing":
            raise _unexpected_state(intent, "settle")
        charge = store.load("charge", intent["latest_charge"], for_update=True)
        if succeeded:
            charge.update(
                status="succeeded",
                paid=True,
                captured=True,
                amount_captured=intent["amount"],
            )
            intent.update(status="succeeded", amount_received=intent["amount"])
            store.save(charge)
            store.save(intent)
            record_event("charge.succeeded", charge)
            record_event("payment_intent.succeeded", intent)
        else:
            charge.update(
                status="failed",
                paid=False,
                failure_code="insufficient_funds",
                failure_message="The bank account has insufficient funds.",
            )
            intent.update(
                status="requires_payment_method",
                payment_method=None,
                last_payment_error={
                    "charge": charge["id"],
                    "code": "insufficient_funds",
                    "message": "The bank account has insufficient funds.",
                    "type": "card_error",
                },
            )
            store.save(charge)
            store.save(intent)
            record_event("charge.failed", charge)
            record_event("payment_intent.payment_failed", intent)
    return intent


# What Stripe.js sees of an intent, with the publishable key and client secret:
# https://docs.stripe.com/api/payment_intents/object (the client-side fields)
CLIENT_FIELDS = (
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
)


def client_view(intent):
    return {field: intent.get(field) for field in CLIENT_FIELDS}


def cancel(intent_id, reason=None):
    with transaction.atomic():
        intent = load(intent_id, for_update=True)
        if intent["status"] not in CANCELABLE:
            raise _unexpected_state(intent, "cancel")
        intent.update(
            status="canceled",
            canceled_at=store.now(),
            cancellation_reason=reason,
            next_action=None,
        )
        store.save(intent)
        record_event("payment_intent.canceled", intent)
    return intent


def _card_details(card):
    year = datetime.date.today().year + 3
    return objects.card_details(
        last4=card.number[-4:], brand=card.brand, exp_month=12, exp_year=year
    )


def _succeed(intent, card):
    intent.update(status="succeeded", amount_received=intent["amount"])
    charge = objects.charge(
        intent=intent,
        status="succeeded",
        billing_email=intent["receipt_email"],
        billing_name=None,
        payment_method_details=_card_details(card),
    )
    intent["latest_charge"] = charge["id"]
    store.save(charge, internal=charge_internal(card))
    store.save(intent)
    record_event("charge.succeeded", charge)
    record_event("payment_intent.succeeded", intent)


def _decline(intent, card):
    charge = objects.charge(
        intent=intent,
        status="failed",
        billing_email=intent["receipt_email"],
        billing_name=None,
        payment_method_details=_card_details(card),
    )
    charge.update(
        paid=False,
        captured=False,
        amount_captured=0,
        failure_code=card.code,
        failure_message=card.message,
        outcome={
            **charge["outcome"],
            "network_status": "declined_by_network",
            "reason": card.decline_code or card.code,
            "seller_message": "The bank did not return any further details.",
            "type": "issuer_declined",
        },
    )
    store.save(charge)
    record_event("charge.failed", charge)
    last_error = {
        "charge": charge["id"],
        "code": card.code,
        "doc_url": f"https://stripe.com/docs/error-codes/{card.code.replace('_', '-')}",
        "message": card.message,
        "payment_method": {"id": intent["payment_method"], "object": "payment_method"},
        "type": "card_error",
    }
    if card.decline_code:
        last_error["decline_code"] = card.decline_code
    intent.update(
        status="requires_payment_method",
        latest_charge=charge["id"],
        last_payment_error=last_error,
        payment_method=None,
    )
    extra = {"charge": charge["id"], "payment_intent": intent}
    if card.decline_code:
        extra["decline_code"] = card.decline_code
    return CardError(card.message, code=card.code, **extra)


def _unexpected_state(intent, action):
    allowed = {
        "confirm": CONFIRMABLE,
        "update": CONFIRMABLE,
        "cancel": CANCELABLE,
        "authenticate": ("requires_action",),
        "settle": ("processing",),
    }[action]
    return InvalidRequest(
        f"You cannot {action} this PaymentIntent because it has a status of "
        f"{intent['status']}. Only a PaymentIntent with one of the following "
        f"statuses may be {action}ed: {', '.join(allowed)}.",
        code="payment_intent_unexpected_state",
        payment_intent=intent,
    )
