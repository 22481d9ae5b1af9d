"""One Stripe Checkout Session per pending order, and one payable per cart."""

import contextlib
import logging

import stripe
from django.db import transaction

from core.money import to_minor_units
from orders.customers import forget_stripe_customer
from orders.models import Order
from orders.placement import CartNotReady
from orders.status import OrderStatus, transition

from . import stripe_api
from .fulfilment import PAID_STATES, fulfil_checkout

logger = logging.getLogger(__name__)


class PaymentProviderError(Exception):
    message = (
        "We could not reach our payment provider just now. Nothing was charged and "
        "your cart is as you left it; please try again in a minute."
    )


def checkout_session_params(order, success_url, cancel_url, stripe_coupon=None):
    currency = order.currency
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": to_minor_units(line.unit_price, currency),
                    "product_data": {
                        "name": f"{line.wine_name} – {line.variant_label}",
                        "metadata": {"sku": line.sku},
                    },
                },
                "quantity": line.quantity,
            }
            for line in order.lines.all()
        ],
        "client_reference_id": order.reference,
        "metadata": {"order_reference": order.reference},
        "payment_intent_data": {"metadata": {"order_reference": order.reference}},
        "success_url": success_url + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": cancel_url,
        "expires_at": int(order.checkout_expires_at.timestamp()),
    }
    if order.stripe_customer_id:
        params["customer"] = order.stripe_customer_id
    else:
        # Stripe makes the Customer on payment; fulfil_checkout keeps its id.
        params["customer_email"] = order.email
        params["customer_creation"] = "always"
    if stripe_coupon:
        params["discounts"] = [{"coupon": stripe_coupon}]
    return params


def _stripe_coupon(client, order):
    """A one-off Stripe coupon worth exactly the order's discount, so Stripe's
    amount_total equals the order total to the cent."""
    if not order.discount:
        return None
    coupon = client.v1.coupons.create(
        params={
            "amount_off": to_minor_units(order.discount, order.currency),
            "currency": order.currency,
            "duration": "once",
            "max_redemptions": 1,
            "name": order.coupon_code[:40],
            "metadata": {"order_reference": order.reference},
        },
        options={"idempotency_key": f"cellar-order-{order.token}-coupon"},
    )
    return coupon.id


def checkout_session_url(order, success_url, cancel_url):
    """The URL of the order's one Checkout Session, created on first call.

    The idempotency key is the order's, and every parameter derives from the order,
    so a retry after a timeout or a 5xx returns the session the first call made.
    """
    client = stripe_api.client()
    try:
        if order.stripe_session_id:
            session = client.v1.checkout.sessions.retrieve(order.stripe_session_id)
            if session.status == "open":
                return session.url
            # Paid with the webhook still on its way, or expired: settle it now.
            fulfil_checkout(session.id, cause="checkout page")
            raise CartNotReady(
                ["Your payment for this cart already went through: see your orders."]
                if session.status == "complete"
                else ["Your previous checkout expired. Please check out again."]
            )
        _supersede_earlier_checkouts(client, order)
        session = _create_session(client, order, success_url, cancel_url)
        kept = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
            stripe_session_id=session.id
        )
        if not kept:
            # A newer checkout of the cart (another tab) superseded this order
            # while its session was being made: that session must not be payable.
            with contextlib.suppress(stripe.InvalidRequestError):
                client.v1.checkout.sessions.expire(
                    session.id,
                    options={"idempotency_key": f"cellar-order-{order.token}-expire"},
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
    order.stripe_session_id = session.id
    return session.url


def _supersede_earlier_checkouts(client, order):
    """One payable Checkout Session per cart: before this order's session is made,
    the sessions of the cart's earlier pending orders are expired at Stripe and
    those orders cancelled. A session Stripe says is already complete (it was being
    paid) is fulfilled instead, and this order is cancelled: the shopper goes back
    to the cart, which then holds what that payment did not cover."""
    paid, settling = [], []
    earlier_orders = order.same_cart_orders().filter(
        status=OrderStatus.PENDING, created_at__lt=order.created_at
    )
    for earlier in earlier_orders:
        if earlier.stripe_session_id:
            session = _expire(client, earlier)
            if session.status == "complete":
                fulfil_checkout(session.id, cause=f"checkout of {order}")
                done = session.payment_status in PAID_STATES
                (paid if done else settling).append(earlier.reference)
                continue
            if session.status != "expired":
                # Still payable: what it holds must stay held. Try again shortly.
                _cancel(order, f"Order {earlier.reference}'s session would not expire")
                raise PaymentProviderError()
        _cancel(earlier, f"{Order.SUPERSEDED} {order.reference}")
    settling += (
        order.same_cart_orders()
        .filter(status=OrderStatus.PROCESSING, created_at__lt=order.created_at)
        .values_list("reference", flat=True)
    )
    if settling:
        # A bank debit under way: a second session could pay the same bottles.
        _cancel(order, f"Order {', '.join(settling)} is being paid")
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(settling)} is being processed. "
                "We will email you when it clears; your cart waits until then."
            ]
        )
    if paid:
        # The cart changed under this order: what the earlier one paid for leaves
        # the cart when it is next read, and the shopper checks out what is left.
        _cancel(order, f"Order {', '.join(paid)} of the same cart was paid")
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(paid)} went through a moment "
                "ago, and what it paid for has left your cart. Check what is left "
                "and check out again."
            ]
        )


def _cancel(order, note, cause="checkout page"):
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.PENDING:
            transition(locked, OrderStatus.CANCELLED, cause, note)
            locked.save()


def _create_session(client, order, success_url, cancel_url):
    coupon = _stripe_coupon(client, order)

    def create():
        return client.v1.checkout.sessions.create(
            params=checkout_session_params(order, success_url, cancel_url, coupon),
            options={"idempotency_key": f"cellar-order-{order.token}-session"},
        )

    try:
        return create()
    except stripe.InvalidRequestError as error:
        gone = error.code == "resource_missing" and error.param == "customer"
        if not (order.stripe_customer_id and gone):
            raise
    # The returning shopper's Stripe Customer was deleted (in the dashboard, say):
    # forget it and ask Stripe for a new one. A request that fails validation
    # stores no idempotent result, so the same key runs the corrected request:
    # https://docs.stripe.com/api/idempotent_requests
    forget_stripe_customer(order.stripe_customer_id, stripe_api.livemode())
    order.stripe_customer_id = ""
    Order.objects.filter(pk=order.pk).update(stripe_customer_id="")
    return create()


class CheckoutPaid(Exception):
    """The checkout could not be ended: Stripe says the shopper completed it (now
    recorded): ``paid``, or a bank debit under way."""

    def __init__(self, paid):
        super().__init__(paid)
        self.paid = paid


class SessionStillOpen(Exception):
    """Stripe did not expire the session: it can still be paid, so it keeps its
    hold."""


def end_checkout(order, cause):
    """End a pending order's checkout by hand: its Checkout Session is expired at
    Stripe first, so it can no longer be paid, then the order is cancelled and what
    it held released. A session Stripe says is complete is fulfilled instead
    (CheckoutPaid); one it did not expire is left as it is (SessionStillOpen)."""
    client = stripe_api.client()
    if order.stripe_session_id:
        session = _expire(client, order)
        if session.status == "complete":
            fulfil_checkout(session.id, cause=cause)
            raise CheckoutPaid(session.payment_status in PAID_STATES)
        if session.status != "expired":
            raise SessionStillOpen()
    _cancel(order, "Checkout ended by hand", cause)


def _expire(client, order):
    """Expire the order's session at Stripe, and read it back: a session no longer
    open (paid, or expired) cannot be expired, and what it is says which."""
    with contextlib.suppress(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(
            order.stripe_session_id,
            options={"idempotency_key": f"cellar-order-{order.token}-expire"},
        )
    return client.v1.checkout.sessions.retrieve(order.stripe_session_id)
