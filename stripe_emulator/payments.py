"""The one place that changes a Checkout Session's payment state.

The hosted page, the API (expire, refunds), tests and the management command all
come here. Each change records its event in the outbox (``webhooks``).
"""

import datetime
import re
from dataclasses import dataclass

from django.db import transaction

from . import objects, store
from .errors import InvalidRequest, resource_missing
from .models import EmulatedObject
from .money import format_amount
from .webhooks import api_request, record_event


class PaymentError(Exception):
    """A payment the hosted page refuses; ``message`` is for the shopper."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class CardDeclined(PaymentError):
    def __init__(self, message, *, code="card_declined", decline_code=None):
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code


class SessionNotPayable(PaymentError):
    """The session is expired or already complete."""


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    outcome: str
    message: str | None = None
    code: str = "card_declined"
    decline_code: str | None = None
    # Stripe's 4000000000005126: the payment succeeds, and a refund of it starts
    # as succeeded, then fails later (charge.refund.updated).
    refunds_fail: bool = False

    @property
    def declines(self):
        return self.message is not None


# https://docs.stripe.com/testing#cards
TEST_CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa", "Succeeds"),
        TestCard("5555555555554444", "mastercard", "Succeeds"),
        TestCard(
            "4000000000000002",
            "visa",
            "Declined",
            "Your card was declined.",
            decline_code="generic_decline",
        ),
        TestCard(
            "4000000000009995",
            "visa",
            "Declined: insufficient funds",
            "Your card has insufficient funds.",
            decline_code="insufficient_funds",
        ),
        TestCard(
            "4000000000000069",
            "visa",
            "Declined: expired card",
            "Your card has expired.",
            code="expired_card",
        ),
        TestCard(
            "4000000000000127",
            "visa",
            "Declined: incorrect CVC",
            "Your card's security code is incorrect.",
            code="incorrect_cvc",
        ),
        TestCard(
            "4000000000005126",
            "visa",
            "Succeeds; a refund of it fails later",
            refunds_fail=True,
        ),
    )
}
LIVE_CARD_IN_TEST_MODE = (
    "Your card was declined. Your request was in test mode, but used a non test "
    "(live) card. For a list of valid test cards, visit: "
    "https://stripe.com/docs/testing."
)
METHODS = ("card", "bank_debit")


def checkout_session(session_id):
    """The session as Stripe would report it now (expired once past expires_at).

    One read when nothing is due; the locking expiry runs only for an open session
    past its time."""
    session = store.load("checkout.session", session_id)
    due = session and session["status"] == "open"
    if due and session["expires_at"] <= _timestamp(None):
        expire_if_due(session_id)
        session = store.load("checkout.session", session_id)
    return session


def line_items(session_id):
    return store.children(session_id, "item")


def pay(
    session_id, card_number=None, *, method="card", email=None, name=None, exp=None
):
    """Pay an open session as the shopper would on the hosted page.

    ``method="card"`` charges ``card_number`` (one of ``TEST_CARDS``) and completes
    the session paid, or raises ``CardDeclined`` and changes nothing.
    ``method="bank_debit"`` completes it unpaid until ``settle``. A session with
    nothing due completes as ``no_payment_required`` without a card.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    expire_if_due(session_id)
    with transaction.atomic():
        session = _locked_session(session_id)
        if session["status"] == "expired":
            raise SessionNotPayable("This checkout session has expired.")
        if session["status"] == "complete":
            raise SessionNotPayable("This checkout session is already paid.")
        amount = session["amount_total"]
        card = _card(card_number) if amount and method == "card" else None
        customer = _customer(session, email=email, name=name)
        email = email or session["customer_email"] or (customer or {}).get("email")
        details = objects.customer_details(email=email, name=name)
        session.update(
            status="complete",
            customer=customer["id"] if customer else None,
            customer_details=details,
            collected_information={
                "business_name": None,
                "individual_name": None,
                "shipping_details": None,
            },
            url=None,
        )
        if amount == 0:
            session["payment_status"] = "no_payment_required"
        else:
            intent = _payment_intent(session, card=card, exp=exp, name=name)
            session["payment_intent"] = intent["id"]
            session["payment_status"] = "paid" if card else "unpaid"
        _redeem_coupon(session)
        store.save(session)
        record_event("checkout.session.completed", session)
    return session


def settle(session_id, succeeded):
    """Finish a bank debit: the money arrives, or the debit fails."""
    with transaction.atomic():
        session = _locked_session(session_id)
        intent_id = session["payment_intent"]
        intent = store.load("payment_intent", intent_id or "", for_update=True)
        if intent is None or intent["status"] != "processing":
            raise PaymentError(
                f"Checkout Session {session_id} has no bank debit waiting to settle."
            )
        charge = store.load("charge", intent["latest_charge"], for_update=True)
        if succeeded:
            intent.update(status="succeeded", amount_received=intent["amount"])
            charge.update(
                status="succeeded",
                paid=True,
                captured=True,
                amount_captured=charge["amount"],
            )
            session["payment_status"] = "paid"
            event_type = "checkout.session.async_payment_succeeded"
        else:
            failure = (
                "The customer's account has insufficient funds to cover this payment."
            )
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "insufficient_funds",
                    "message": failure,
                    "type": "invalid_request_error",
                },
            )
            charge.update(
                status="failed",
                failure_code="insufficient_funds",
                failure_message=failure,
            )
            event_type = "checkout.session.async_payment_failed"
        store.save(charge)
        store.save(intent)
        store.save(session)
        record_event(event_type, session)
    return session


def expire(session_id):
    """Expire an open session now, as ``POST .../expire`` does."""
    with transaction.atomic():
        session = _locked_session(session_id)
        if session["status"] != "open":
            raise InvalidRequest(
                'Only Checkout Sessions with a status in ["open"] can be expired'
            )
        return _expire(session)


def expire_if_due(session_id, at=None):
    """Stripe expires sessions at ``expires_at``; here, when someone next looks."""
    with transaction.atomic():
        session = store.load("checkout.session", session_id, for_update=True)
        due = session and session["status"] == "open"
        if due and session["expires_at"] <= _timestamp(at):
            # Time expired it, not the request that noticed: request id is null.
            with api_request(None, None):
                _expire(session)
            return True
    return False


def expire_due(now=None):
    """Expire every open session whose ``expires_at`` has passed; their ids."""
    open_ids = EmulatedObject.objects.filter(
        type="checkout.session", data__status="open"
    ).values_list("id", flat=True)
    return [session_id for session_id in open_ids if expire_if_due(session_id, at=now)]


def refund(
    *, payment_intent=None, charge=None, amount=None, reason=None, metadata=None
):
    """Refund a charge in full or in part; its ``charge.refunded`` event follows."""
    if not (payment_intent or charge):
        raise InvalidRequest(
            "One of the following params should be provided for this request: "
            "payment_intent or charge."
        )
    with transaction.atomic():
        if payment_intent:
            intent = store.load("payment_intent", payment_intent)
            if intent is None:
                raise resource_missing(
                    "payment_intent", payment_intent, param="payment_intent"
                )
            if intent["status"] != "succeeded":
                raise InvalidRequest(
                    f"This PaymentIntent ({payment_intent}) does not have a "
                    "successful charge to refund.",
                    param="payment_intent",
                )
            if charge and charge != intent["latest_charge"]:
                raise InvalidRequest(
                    f"The charge {charge} does not belong to PaymentIntent "
                    f"{payment_intent}.",
                    param="charge",
                )
            charge = intent["latest_charge"]
        charged = store.load("charge", charge, for_update=True)
        if charged is None:
            raise resource_missing("charge", charge, param="charge")
        remaining = charged["amount"] - charged["amount_refunded"]
        if charged["status"] != "succeeded":
            raise InvalidRequest(
                f"Charge {charge} has not succeeded and cannot be refunded.",
                param="charge",
            )
        if remaining == 0:
            raise InvalidRequest(
                f"Charge {charge} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining if amount is None else amount
        if amount > remaining:
            currency = charged["currency"]
            raise InvalidRequest(
                f"Refund amount ({format_amount(amount, currency)}) is greater than "
                f"unrefunded amount on charge ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        created = objects.refund(
            charge=charged, amount=amount, reason=reason, metadata=metadata
        )
        fails = store.internal(charge).get("refunds_fail", False)
        store.save(created, internal={"fails": True} if fails else None)
        previous = {
            "amount_refunded": charged["amount_refunded"],
            "refunded": charged["refunded"],
        }
        charged["amount_refunded"] += amount
        charged["refunded"] = charged["amount_refunded"] == charged["amount"]
        store.save(charged)
        record_event("charge.refunded", charged, previous_attributes=previous)
    return created


def fail_refund(refund_id, reason="expired_or_canceled_card"):
    """Some time after a refund of a 4000000000005126 payment, Stripe fails it:
    the refund becomes failed, its amount goes back off the charge's refunded
    total, and ``charge.refund.updated`` and ``refund.failed`` follow."""
    with transaction.atomic():
        refunded = store.load("refund", refund_id, for_update=True)
        if refunded is None:
            raise resource_missing("refund", refund_id)
        if not store.internal(refund_id).get("fails"):
            raise InvalidRequest(
                f"Refund {refund_id} cannot fail: only a refund of a payment with "
                "the test card 4000000000005126 does."
            )
        if refunded["status"] == "failed":
            return refunded
        previous = {"status": refunded["status"]}
        refunded.update(status="failed", failure_reason=reason)
        store.save(refunded)
        charged = store.load("charge", refunded["charge"], for_update=True)
        charged["amount_refunded"] -= refunded["amount"]
        charged["refunded"] = False
        store.save(charged)
        record_event("charge.refund.updated", refunded, previous_attributes=previous)
        record_event("refund.failed", refunded, previous_attributes=previous)
    return refunded


def refunds_due_to_fail():
    """The refunds Stripe has yet to fail (of 4000000000005126 payments)."""
    rows = EmulatedObject.objects.filter(type="refund", internal__fails=True)
    return [row.id for row in rows if row.data["status"] != "failed"]


def _locked_session(session_id):
    session = store.load("checkout.session", session_id, for_update=True)
    if session is None:
        raise resource_missing("checkout.session", session_id)
    return session


def _expire(session):
    session.update(status="expired", url=None)
    store.save(session)
    record_event("checkout.session.expired", session)
    return session


def _timestamp(at):
    if at is None:
        return store.now()
    if isinstance(at, datetime.datetime):
        return int(at.timestamp())
    return int(at)


def _card(card_number):
    number = re.sub(r"[\s-]", "", card_number or "")
    card = TEST_CARDS.get(number)
    if card is None:
        raise CardDeclined(LIVE_CARD_IN_TEST_MODE)
    if card.declines:
        raise CardDeclined(card.message, code=card.code, decline_code=card.decline_code)
    return card


def _customer(session, *, email, name):
    """The session's customer, created on payment when the session asks for one."""
    if session["customer"]:
        return store.load("customer", session["customer"])
    if session["customer_creation"] in ("always", "if_required"):
        return store.save(
            objects.customer(email=email or session["customer_email"], name=name)
        )
    return None


def _payment_intent(session, *, card, exp, name):
    """The PaymentIntent and its charge: succeeded by card, processing by debit."""
    if card:
        exp_month, exp_year = exp or (12, datetime.date.today().year + 3)
        details = objects.card_details(
            last4=card.number[-4:],
            brand=card.brand,
            exp_month=exp_month,
            exp_year=exp_year,
        )
    else:
        details = objects.bank_debit_details(session["currency"])
    intent_data = store.internal(session["id"]).get("payment_intent_data", {})
    intent = objects.payment_intent(
        amount=session["amount_total"],
        currency=session["currency"],
        status="succeeded" if card else "processing",
        customer=session["customer"],
        metadata=intent_data.get("metadata"),
        payment_method=store.new_id("pm"),
        method_type=details["type"],
    )
    intent["description"] = intent_data.get("description")
    charge = objects.charge(
        intent=intent,
        status="succeeded" if card else "pending",
        billing_email=session["customer_details"]["email"],
        billing_name=name,
        payment_method_details=details,
    )
    intent["latest_charge"] = charge["id"]
    store.save(intent)
    store.save(charge, internal=charge_internal(card))
    return intent


def charge_internal(card):
    """What the emulator remembers of a charge beyond Stripe's fields."""
    return {"refunds_fail": True} if card and card.refunds_fail else None


def _redeem_coupon(session):
    for discount in session["discounts"]:
        coupon = store.load("coupon", discount["coupon"], for_update=True)
        if coupon is None:
            continue
        coupon["times_redeemed"] += 1
        limit = coupon["max_redemptions"]
        if limit is not None and coupon["times_redeemed"] >= limit:
            coupon["valid"] = False
        store.save(coupon)
