"""One PaymentIntent per pending order paid on the shop's own page (Stripe's
Payment Element), and one payable checkout per cart."""

import contextlib
import logging

import stripe

from core.money import to_minor_units
from home.models import PaymentPage
from orders.models import Order
from orders.placement import CartNotReady
from orders.status import OrderStatus

from . import stripe_api
from .ending import (
    STILL_PAYABLE,
    PaymentProviderError,
    stop_payment,
    supersede_earlier_checkouts,
)
from .fulfilment import Payment, fulfil_intent, retrieve_intent
from .sessions import create_with_customer

logger = logging.getLogger(__name__)


def payment_intent_params(order):
    params = {
        "amount": to_minor_units(order.total, order.currency),
        "currency": order.currency,
        "automatic_payment_methods": {"enabled": True},
        "description": f"Cellar order {order.reference}",
        "metadata": {"order_reference": order.reference},
    }
    if order.stripe_customer_id:
        params["customer"] = order.stripe_customer_id
    return params


def intent_key(order):
    """The order's intent's idempotency key: the cart and its version (the
    order's checkout key) and the order, so an unchanged cart finds the intent
    it made, and a changed one (a new order) makes a new intent."""
    return f"cellar-intent-{order.checkout_key}-{order.token}"


def payment_intent_for(order):
    """The order's one PaymentIntent, created on first call, for the Payment
    Element. Every parameter derives from the order and the key from the order
    and its cart version, so a retry after a timeout or a 5xx, a reload or a
    second tab all get the intent the first call made."""
    client = stripe_api.client()
    try:
        if order.stripe_payment_intent_id:
            intent = retrieve_intent(order.stripe_payment_intent_id)
            payment = Payment.of_intent(intent)
            if payment.state in STILL_PAYABLE:
                return intent
            # Paid with the webhook still on its way, or cancelled: settle it now.
            fulfil_intent(intent.id, cause="checkout page", intent=intent)
            raise CartNotReady(
                ["Your payment for this cart already went through: see your orders."]
                if payment.state in ("paid", "processing")
                else ["Your previous checkout ended. Please check out again."]
            )
        supersede_earlier_checkouts(client, order)
        intent = create_with_customer(
            order,
            lambda key: client.v1.payment_intents.create(
                params=payment_intent_params(order), options={"idempotency_key": key}
            ),
            intent_key(order),
        )
        kept = Order.objects.filter(
            pk=order.pk,
            status=OrderStatus.PENDING,
            payment_page=PaymentPage.ON_PAGE,
            stripe_session_id__isnull=True,
            stripe_payment_intent_id__in=("", intent.id),
        ).update(stripe_payment_intent_id=intent.id)
        if not kept:
            # A newer checkout of the cart (another tab) superseded this order
            # while its intent was being made, or another tab sent it to the
            # hosted page: that intent must not be payable.
            with contextlib.suppress(stripe.InvalidRequestError):
                client.v1.payment_intents.cancel(
                    intent.id, params={"cancellation_reason": "duplicate"}
                )
            raise CartNotReady(
                [
                    "Your cart was checked out again in another window a moment "
                    "ago. Check it and check out once more."
                ]
            )
    except stripe.StripeError as error:
        logger.warning("Stripe refused or failed for order %s: %s", order, error)
        raise PaymentProviderError() from error
    order.stripe_payment_intent_id = intent.id
    return intent


def switch_to_hosted(order):
    """Send an on-page order to Stripe's hosted page instead (the shopper has no
    JavaScript, or the Payment Element would not load): its intent is cancelled
    first, so only the session can be paid. False if Stripe would not cancel it;
    CartNotReady if it was paid meanwhile."""
    if order.stripe_payment_intent_id:
        payment = stop_payment(stripe_api.client(), order)
        if payment is not None and payment.state in ("paid", "processing"):
            fulfil_intent(order.stripe_payment_intent_id, cause="checkout page")
            raise CartNotReady(
                ["Your payment for this cart already went through: see your orders."]
            )
        if payment is not None and payment.state != "ended":
            return False
    switched = Order.objects.filter(
        pk=order.pk,
        status=OrderStatus.PENDING,
        payment_page=PaymentPage.ON_PAGE,
        stripe_payment_intent_id=order.stripe_payment_intent_id,
    ).update(payment_page=PaymentPage.HOSTED, stripe_payment_intent_id="")
    if switched:
        order.payment_page, order.stripe_payment_intent_id = PaymentPage.HOSTED, ""
    return bool(switched)
