"""Ending a checkout at Stripe, whichever page it pays on: a newer checkout of the
same cart supersedes it, a merchant releases its hold, or its hold runs out.

A Checkout Session is expired and a PaymentIntent cancelled first, then read back:
only a payment Stripe says can no longer happen lets the order (and its hold) go.
One Stripe might still take is left as it is; one that went through is fulfilled.
"""

import contextlib
import logging

import stripe
from django.db import transaction

from orders.models import Order
from orders.placement import CartNotReady
from orders.status import OrderStatus, transition

from . import stripe_api
from .fulfilment import Payment, fulfil_order, retrieve_intent

logger = logging.getLogger(__name__)
STILL_PAYABLE = ("open", "failed")


class PaymentProviderError(Exception):
    message = (
        "We could not reach our payment provider just now. Nothing was charged and "
        "your cart is as you left it; please try again in a minute."
    )


class CheckoutPaid(Exception):
    """The checkout could not be ended: Stripe says the shopper paid (now
    recorded): ``paid``, or a bank debit under way."""

    def __init__(self, paid):
        super().__init__(paid)
        self.paid = paid


class SessionStillOpen(Exception):
    """Stripe did not end the payment: it can still be paid, so it keeps its
    hold."""


def stop_payment(client, order):
    """Expire the order's Checkout Session or cancel its PaymentIntent at Stripe,
    and read it back as a ``Payment``; None if Stripe has neither. A payment no
    longer open (paid, or ended) cannot be stopped, and what it is says which."""
    key = f"cellar-order-{order.token}"
    if order.stripe_session_id:
        with contextlib.suppress(stripe.InvalidRequestError):
            client.v1.checkout.sessions.expire(
                order.stripe_session_id, options={"idempotency_key": f"{key}-expire"}
            )
        return Payment.of_session(
            client.v1.checkout.sessions.retrieve(order.stripe_session_id)
        )
    if order.pays_on_page and order.stripe_payment_intent_id:
        # No key of ours: cancelling is idempotent at Stripe, and a key would
        # replay a first attempt's failure for 24 hours (the SDK keys each try).
        with contextlib.suppress(stripe.InvalidRequestError):
            client.v1.payment_intents.cancel(
                order.stripe_payment_intent_id,
                params={"cancellation_reason": "abandoned"},
            )
        return Payment.of_intent(retrieve_intent(order.stripe_payment_intent_id))
    return None


def supersede_earlier_checkouts(client, order):
    """One payable checkout per cart: before this order's session or intent is
    made, the earlier pending orders of the cart have theirs ended at Stripe and
    are cancelled. One Stripe says was paid (it was being paid) is fulfilled
    instead, and this order is cancelled: the shopper goes back to the cart, which
    then holds what that payment did not cover."""
    paid, settling = [], []
    earlier_orders = order.same_cart_orders().filter(
        status=OrderStatus.PENDING, created_at__lt=order.created_at
    )
    for earlier in earlier_orders:
        payment = stop_payment(client, earlier)
        if payment is not None and payment.state in ("paid", "processing"):
            fulfil_order(earlier, cause=f"checkout of {order}")
            (paid if payment.state == "paid" else settling).append(earlier.reference)
            continue
        if payment is not None and payment.state in STILL_PAYABLE:
            # Still payable: what it holds must stay held. Try again shortly.
            cancel_order(order, f"Order {earlier.reference}'s payment would not end")
            raise PaymentProviderError()
        cancel_order(earlier, f"{Order.SUPERSEDED} {order.reference}")
    settling += (
        order.same_cart_orders()
        .filter(status=OrderStatus.PROCESSING, created_at__lt=order.created_at)
        .values_list("reference", flat=True)
    )
    if settling:
        # A bank debit under way: a second payment could pay the same bottles.
        cancel_order(order, f"Order {', '.join(settling)} is being paid")
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(settling)} is being processed. "
                "We will email you when it clears; your cart waits until then."
            ]
        )
    if paid:
        # The cart changed under this order: what the earlier one paid for leaves
        # the cart when it is next read, and the shopper checks out what is left.
        cancel_order(order, f"Order {', '.join(paid)} of the same cart was paid")
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(paid)} went through a moment "
                "ago, and what it paid for has left your cart. Check what is left "
                "and check out again."
            ]
        )


def cancel_order(order, note, cause="checkout page"):
    """Cancel a pending order as its caller read it: one that got a session or
    intent since (the caller's copy is older) is left as it is."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.payment_started and not order.payment_started:
            return
        if locked.status == OrderStatus.PENDING:
            transition(locked, OrderStatus.CANCELLED, cause, note)
            locked.save()


def end_checkout(order, cause, note="Checkout ended by hand"):
    """End a pending order's checkout: its payment is stopped at Stripe first, so
    it can no longer be paid, then the order is cancelled and what it held
    released. One Stripe says was paid is fulfilled instead (CheckoutPaid); one it
    did not stop is left as it is (SessionStillOpen)."""
    payment = stop_payment(stripe_api.client(), order)
    if payment is not None and payment.state in ("paid", "processing"):
        fulfil_order(order, cause=cause)
        raise CheckoutPaid(payment.state == "paid")
    if payment is not None and payment.state in STILL_PAYABLE:
        raise SessionStillOpen()
    cancel_order(order, note, cause)
