"""The one place an order becomes paid: ``fulfil_checkout`` for an order paid on
Stripe's hosted Checkout page, ``fulfil_intent`` for one paid on the shop's page.

The success page, the webhook, the reconcile task and a replayed event all call
them with Stripe's id. Unless the order is paid already, they ask Stripe for the
Checkout Session or PaymentIntent (a visit or an event is never proof of payment),
read it as one ``Payment``, lock the order row, and make each transition once
however many callers race them.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.money import from_minor_units, to_minor_units
from core.queue import enqueue
from home.models import PaymentPage
from orders import holds
from orders.customers import record_customer
from orders.models import Order
from orders.status import SOLD, OrderStatus, transition
from orders.tasks import email_refunded, generate_invoice

from . import stripe_api
from .models import StripeEvent

logger = logging.getLogger(__name__)
PAID_STATES = ("paid", "no_payment_required")


@dataclass(frozen=True)
class Payment:
    """What Stripe says of an order's payment, whichever page took it.

    ``state``: ``open`` (can still be paid), ``paid``, ``processing`` (a bank debit
    under way), ``failed`` (a debit that did not clear), ``ended`` (expired or
    cancelled: can no longer be paid)."""

    state: str
    amount: int
    currency: str
    note: str
    intent_id: str = ""
    customer: str = ""
    livemode: bool = False
    charge: dict | None = None
    # Stripe Tax's figures (minor units), for an order whose tax it computes.
    tax: int = 0
    shipping_tax: int = 0
    taxes: tuple = ()

    @classmethod
    def of_session(cls, session):
        if session.status == "expired":
            state = "ended"
        elif session.status != "complete":
            state = "open"
        elif session.payment_status in PAID_STATES:
            state = "paid"
        else:
            state = "processing"
        intent = session.payment_intent
        charge = getattr(intent, "latest_charge", None) if intent else None
        details = session.total_details
        breakdown = getattr(details, "breakdown", None) if details else None
        return cls(
            state=state,
            amount=session.amount_total,
            currency=session.currency,
            note=(
                "Checkout Session expired"
                if state == "ended"
                else f"payment_status={session.payment_status}"
            ),
            intent_id=getattr(intent, "id", intent) or "",
            customer=getattr(session.customer, "id", session.customer) or "",
            livemode=bool(session.livemode),
            charge=_as_dict(charge),
            tax=getattr(details, "amount_tax", 0) or 0 if details else 0,
            shipping_tax=getattr(session.shipping_cost, "amount_tax", 0) or 0
            if session.shipping_cost
            else 0,
            taxes=tuple(tax.to_dict() for tax in breakdown.taxes) if breakdown else (),
        )

    @classmethod
    def of_intent(cls, intent):
        state = {
            "succeeded": "paid",
            "processing": "processing",
            "canceled": "ended",
        }.get(intent.status, "open")
        if state == "open" and getattr(intent, "last_payment_error", None):
            # A card declined stays payable on the same page; a debit that did not
            # clear fails the order if it was processing (see _apply).
            state = "failed"
        charge = getattr(intent, "latest_charge", None)
        return cls(
            state=state,
            amount=intent.amount,
            currency=intent.currency,
            note=(
                "PaymentIntent canceled"
                if state == "ended"
                else f"PaymentIntent {intent.status}"
            ),
            intent_id=intent.id,
            customer=getattr(intent.customer, "id", intent.customer) or "",
            livemode=bool(intent.livemode),
            charge=_as_dict(charge),
        )


def _as_dict(charge):
    """An expanded charge as a plain dict; None if Stripe gave only its id."""
    return charge.to_dict() if hasattr(charge, "to_dict") else None


def _already_paid(order):
    """``order`` if it is paid already: paid is final here (``_apply`` changes
    nothing then), so a redelivered or second event need not ask Stripe again."""
    return order if order is not None and order.is_paid else None


def fulfil_checkout(session_id, cause):
    known = Order.objects.filter(stripe_session_id=session_id).first()
    if paid := _already_paid(known):
        return paid
    expand = ["payment_intent.latest_charge"]
    if known is not None and known.tax_by_stripe:
        expand.append("total_details.breakdown")  # Stripe Tax's rates
    session = stripe_api.client().v1.checkout.sessions.retrieve(
        session_id, params={"expand": expand}
    )
    # Inside a webhook's transaction no savepoint is needed: an error undoes it all.
    with transaction.atomic(savepoint=False):
        order = (
            Order.objects.select_for_update()
            .filter(stripe_session_id=session_id)
            .first()
        )
        if order is None:
            logger.warning("No order for Checkout Session %s (%s)", session_id, cause)
            return None
        _apply(order, Payment.of_session(session), cause)
        return order


def retrieve_intent(intent_id):
    return stripe_api.client().v1.payment_intents.retrieve(
        intent_id, params={"expand": ["latest_charge"]}
    )


def fulfil_intent(intent_id, cause, intent=None):
    """The same for an order paid on the shop's page; ``intent``: as just read
    from Stripe (the success page reads it to check its client secret)."""
    if intent is None:
        paid = _already_paid(intent_order(intent_id))
        if paid:
            return paid
        intent = retrieve_intent(intent_id)
    with transaction.atomic(savepoint=False):
        order = intent_order(intent_id, lock=True)
        if order is None:
            logger.warning("No order for PaymentIntent %s (%s)", intent_id, cause)
            return None
        _apply(order, Payment.of_intent(intent), cause)
        if order.status == OrderStatus.FAILED and intent.status != "canceled":
            # Its debit failed and its hold is gone: the intent must not be paid.
            transaction.on_commit(lambda: _cancel_failed(order))
        return order


def _cancel_failed(order):
    try:
        stripe_api.client().v1.payment_intents.cancel(order.stripe_payment_intent_id)
    except Exception:
        logger.warning("Could not cancel the failed %s's intent", order, exc_info=True)


def fulfil_order(order, cause):
    """Fulfil an order by what Stripe says of its session or intent."""
    if order.stripe_session_id:
        return fulfil_checkout(order.stripe_session_id, cause)
    if order.pays_on_page and order.stripe_payment_intent_id:
        return fulfil_intent(order.stripe_payment_intent_id, cause)
    return order


def intent_order(intent_id, lock=False):
    """The order paid on the shop's page with this PaymentIntent. (A Checkout
    Session's orders record their intent too, once paid: Stripe's events about
    those intents are the session's business.)"""
    orders = Order.objects.filter(
        stripe_payment_intent_id=intent_id, payment_page=PaymentPage.ON_PAGE
    )
    return (orders.select_for_update() if lock else orders).first()


def _apply(order, payment, cause):
    if order.is_paid:
        return
    if payment.state == "ended":
        if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            transition(order, OrderStatus.CANCELLED, cause, payment.note)
            order.save()
        return
    if payment.state == "failed":
        if order.status == OrderStatus.PROCESSING:
            transition(order, OrderStatus.FAILED, cause, "Payment failed")
            order.save()
        return
    if payment.state not in ("paid", "processing"):
        return
    expected = to_minor_units(order.total, order.currency)
    what = "the order total"
    if order.tax_by_stripe and not order.prices_include_tax:
        expected += payment.tax  # Stripe Tax added it to the order's total
        what = "the order total with Stripe's tax"
    if payment.amount != expected or payment.currency != order.currency:
        reason = (
            f"Stripe charged {payment.amount} {payment.currency} (minor units) "
            f"but {what} is {expected} {order.currency}; not fulfilled."
        )
        if reason not in order.attention_reason:
            order.flag(reason, from_minor_units(payment.amount, order.currency))
            order.save()
        return
    if payment.state == "paid":
        _mark_paid(order, payment, cause)
    elif order.status == OrderStatus.PENDING:
        transition(order, OrderStatus.PROCESSING, cause, "Payment under way")
        order.save()


def _mark_paid(order, payment, cause):
    # A double payment: this checkout was cancelled (superseded, expired), or a
    # twin (another version of the same cart) was paid after this one was placed,
    # while their contents overlapped. A cart paid and then shopped again makes
    # orders placed after that payment, which are no twins.
    doubts = []
    if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        # Its hold was released: what it held may have been sold since.
        why = order.history.filter(to_status=order.status).last()
        ended = "cancelled" if order.status == OrderStatus.CANCELLED else "failed"
        doubts.append(
            f"Paid after its checkout {ended} ({why.note if why else 'expired'})"
        )
    twins = order.same_cart_orders().filter(
        status__in=SOLD, paid_at__gt=order.created_at
    )
    if twins:
        doubts.append(
            "The same cart was also paid as order "
            + ", ".join(twin.reference for twin in twins)
        )
    if doubts:
        order.flag(
            "; ".join(doubts) + ": the shopper may have paid twice for the same "
            "bottles; check stock and refund one before shipping.",
            order.total,
        )
    if order.tax_by_stripe:
        _record_stripe_tax(order, payment)
    transition(order, OrderStatus.PAID, cause, payment.note)
    order.paid_at = timezone.now()
    order.stripe_payment_intent_id = payment.intent_id
    if payment.charge:
        card = (payment.charge.get("payment_method_details") or {}).get("card") or {}
        order.stripe_charge_id = payment.charge["id"]
        order.card_brand = (card.get("brand") or "")[:20]
        order.card_last4 = (card.get("last4") or "")[:4]
    _apply_refunds_received_first(order, cause)
    # The rows many payments share (a popular coupon, a wine on sale) are locked
    # last, so each is held only until the commit right after; always in the same
    # order (coupon, then wines by id), so two payments never wait on each other.
    record_customer(order, payment.customer, payment.livemode)
    short, missing, held = holds.sell(order)
    if short:
        why = "" if held else "Paid after its checkout's hold had ended. "
        order.flag(f"{why}Oversold: too little stock for {', '.join(short)}.", missing)
    order.save()
    enqueue(generate_invoice, order.pk)


def _taxable(order, tax, rates):
    """What a rate of Stripe's was on: its ``taxable_amount``; where Stripe gives
    none (it may be null) and the order has one rate, the goods and shipping
    without the tax."""
    if tax.get("taxable_amount") is not None:
        return from_minor_units(tax["taxable_amount"], order.currency)
    if rates != 1:
        return from_minor_units(0, order.currency)
    base = order.subtotal - order.discount + order.shipping
    return base - order.tax if order.prices_include_tax else base


def _record_stripe_tax(order, payment):
    """The tax Stripe Tax charged becomes the order's, as if the shop had
    computed it: the total, the shipping's part, and a line per rate."""
    currency = order.currency
    order.tax = from_minor_units(payment.tax, currency)
    order.shipping_tax = from_minor_units(payment.shipping_tax, currency)
    if not order.prices_include_tax:
        order.total += order.tax
    rated = [tax for tax in payment.taxes if tax.get("rate")]
    order.tax_lines = [
        {
            "label": f"{tax['rate']['display_name']} "
            f"{Decimal(str(tax['rate']['percentage'])).normalize():f}%",
            "percent": str(tax["rate"]["percentage"]),
            "country": tax["rate"].get("country") or order.country.code,
            "state": tax["rate"].get("state") or "",
            "taxable": str(_taxable(order, tax, len(rated))),
            "amount": str(from_minor_units(tax["amount"], currency)),
        }
        for tax in rated
    ]
    if len(rated) == 1:
        order.tax_name = rated[0]["rate"]["display_name"][:50]
        order.tax_percent = Decimal(str(rated[0]["rate"]["percentage"]))


# What a handler answers when its event concerns an order not paid yet.
NOT_YET = "not yet"


def apply_refund(charge, cause, late=False):
    """charge.refunded: record what Stripe says was refunded, on the paid order.

    Stripe does not order its events: a refund may arrive before the payment it
    refunds is recorded. Then nothing matches the payment intent yet; the answer is
    NOT_YET, the ledger keeps the event as deferred, and the paid transition (or
    the reconcile task, should the two race: ``late``) applies it, flagged.
    """
    intent = charge.get("payment_intent")
    with transaction.atomic():
        order = _locked_sold_order(intent)
        if order is None:
            logger.info("charge.refunded for %s before its order was paid", intent)
            return NOT_YET
        if order.refund_failed_at is not None:
            # A refund of this charge failed: this event's copy may count it.
            charge = _charge_now(charge["id"])
        refunded = from_minor_units(charge["amount_refunded"], order.currency)
        if late:
            flag_early_refund(order, refunded)
        record_refund(order, refunded, bool(charge.get("refunded")), cause)
        return order


def apply_refund_failure(refund, cause):
    """charge.refund.updated or refund.failed: Stripe failed a refund it had
    confirmed (the card was closed), and took its amount back off the charge.

    The order's refunded total becomes what the charge says now (asked of Stripe:
    an event's copy may be older than the failure), a refunded order is paid
    again, and the merchant is asked to refund the shopper another way. From then
    on charge.refunded events are checked against Stripe in the same way, so a
    late copy never counts the failed refund again. Once per refund, whichever
    of the two events comes, and however often.
    """
    if refund.get("status") != "failed":
        return None
    intent = refund.get("payment_intent")
    with transaction.atomic():
        order = _locked_sold_order(intent)
        if order is None:
            logger.info("A failed refund of %s before its order was paid", intent)
            return NOT_YET
        if not _failure_recorded(refund["id"]):
            _record_refund_failure(order, refund, cause)
        return order


def _locked_sold_order(intent):
    """The paid (or refunded) order of a PaymentIntent, locked; None if none yet."""
    return (
        Order.objects.select_for_update()
        .filter(stripe_payment_intent_id=intent, status__in=SOLD)
        .first()
    )


def _failure_recorded(refund_id):
    """Whether an event about this refund's failure was handled (the one being
    handled now has no ``processed_at`` yet)."""
    return StripeEvent.objects.filter(
        type__in=REFUND_FAILURE_EVENTS,
        status=StripeEvent.Status.PROCESSED,
        processed_at__isnull=False,
        payload__data__object__id=refund_id,
        payload__data__object__status="failed",
    ).exists()


def _record_refund_failure(order, refund, cause):
    charge = _charge_now(refund["charge"])
    refunded = from_minor_units(charge["amount_refunded"], order.currency)
    amount = from_minor_units(refund["amount"], order.currency)
    order.refund_failed_at = timezone.now()
    order.amount_refunded = min(order.amount_refunded, refunded)
    order.flag(
        f"Stripe could not refund {amount} {order.currency_code} (refund "
        f"{refund['id']}: {refund.get('failure_reason') or 'failed'}); "
        f"{order.amount_refunded} is refunded now. Refund the shopper another "
        "way, or ask them for another card.",
        amount,
    )
    if order.status == OrderStatus.REFUNDED and not charge["refunded"]:
        transition(order, OrderStatus.PAID, cause, f"Refund {refund['id']} failed")
    order.save()
    enqueue(email_refunded, order.pk)  # the shopper was told it was refunded


def _charge_now(charge_id):
    """The charge as Stripe holds it now, as an event carries it."""
    return stripe_api.client().v1.charges.retrieve(charge_id).to_dict()


# The events by which Stripe says a refund failed (the second is newer).
REFUND_FAILURE_EVENTS = ("charge.refund.updated", "refund.failed")


def _apply_refunds_received_first(order, cause):
    """Refunds of this payment that reached the ledger before it was recorded,
    and their failures. One query when there are none."""
    events = list(
        StripeEvent.objects.filter(
            type__in=("charge.refunded", *REFUND_FAILURE_EVENTS),
            status=StripeEvent.Status.DEFERRED,
            payload__data__object__payment_intent=order.stripe_payment_intent_id,
        )
    )
    if not events:
        return
    charges = [
        e.payload["data"]["object"] for e in events if e.type == "charge.refunded"
    ]
    if charges:
        latest = max(charges, key=lambda charge: charge["amount_refunded"])
        refunded = from_minor_units(latest["amount_refunded"], order.currency)
        flag_early_refund(order, refunded)
        record_refund(order, refunded, bool(latest["refunded"]), cause)
    # A refund that failed meanwhile counts no more (and is told to the merchant)
    failed = {
        e.payload["data"]["object"]["id"]: e.payload["data"]["object"]
        for e in events
        if e.type in REFUND_FAILURE_EVENTS
        and e.payload["data"]["object"].get("status") == "failed"
    }
    for refund_id, refund in failed.items():
        if not _failure_recorded(refund_id):
            _record_refund_failure(order, refund, cause)
    StripeEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        status=StripeEvent.Status.PROCESSED, processed_at=timezone.now()
    )


def flag_early_refund(order, refunded):
    order.flag(
        f"Stripe refunded {refunded} {order.currency_code} before the payment "
        "reached the shop; check before shipping.",
        refunded,
    )


def record_refund(order, amount_refunded, in_full, cause):
    """Record a refund Stripe confirmed, on a locked order; the first confirmation
    (the refund API's answer or ``charge.refunded``) moves it to refunded, once."""
    if amount_refunded > order.amount_refunded:
        order.amount_refunded = amount_refunded
        order.refunded_at = timezone.now()
        enqueue(email_refunded, order.pk)
    if in_full and order.status == OrderStatus.PAID:
        transition(order, OrderStatus.REFUNDED, cause, f"Refunded {amount_refunded}")
    order.save()


def fail_payment(session_id, cause):
    """checkout.session.async_payment_failed: the order fails; the cart stays."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(stripe_session_id=session_id)
            .first()
        )
        if order is not None and order.status in (
            OrderStatus.PENDING,
            OrderStatus.PROCESSING,
        ):
            transition(order, OrderStatus.FAILED, cause, "Async payment failed")
            order.save()
        return order
