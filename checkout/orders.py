"""Turning a cart into one pending order and one Stripe Checkout Session."""

import contextlib
import logging
from datetime import timedelta

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import quantize, shop_currency, to_minor_units

from . import stripe_api
from .customers import (
    ADDRESS_FIELDS,
    forget_stripe_customer,
    returning_stripe_customer,
)
from .models import Order, OrderLine, OrderStatus

logger = logging.getLogger(__name__)

# Stripe accepts 30 minutes to 24 hours: an abandoned checkout (and its order)
# ends after the shortest window Stripe allows, with two minutes to make the
# session (expiring earlier ones first, Stripe's retries).
CHECKOUT_WINDOW = timedelta(minutes=32)
MIN_SESSION_WINDOW = timedelta(minutes=31)
CONTACT_FIELDS = ("email", *ADDRESS_FIELDS)


class CartNotReady(Exception):
    """The cart cannot be checked out as it is; ``reasons`` say why."""

    def __init__(self, reasons):
        super().__init__(reasons)
        self.reasons = reasons


class PaymentProviderError(Exception):
    message = (
        "We could not reach our payment provider just now. Nothing was charged and "
        "your cart is as you left it; please try again in a minute."
    )


def place_order(cart, contact, user=None):
    """The pending order for this cart's contents, created once.

    A double submit, a refresh, the back button or a second tab arrive with the same
    cart id and version, so they find the order the first request made.
    """
    lines = cart.from_database().lines
    if cart.notices:
        raise CartNotReady(list(cart.notices))
    if not lines:
        raise CartNotReady(["Your cart is empty."])
    key = cart.checkout_key
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(checkout_key=key, status=OrderStatus.PENDING)
            .first()
        )
        if order is not None and not _window_too_short(order):
            email_changed = order.email != contact["email"]
            for field in CONTACT_FIELDS:
                setattr(order, field, contact[field])
            if email_changed and order.stripe_session_id is None:
                order.stripe_customer_id = returning_stripe_customer(order.email)
            order.save()
            return order
        if order is not None:
            # Stripe wants a session to stay open at least 30 minutes; this order
            # never got one in time, so it closes and the cart gets a fresh order.
            from .fulfilment import transition

            transition(order, OrderStatus.CANCELLED, "checkout page", "No session made")
            order.save()
        try:
            with transaction.atomic():
                return _create_order(key, lines, cart, contact, user)
        except IntegrityError:
            # A concurrent submit of the same cart made it first.
            return Order.objects.get(checkout_key=key, status=OrderStatus.PENDING)


def _window_too_short(order):
    return (
        order.stripe_session_id is None
        and order.checkout_expires_at - timezone.now() < MIN_SESSION_WINDOW
    )


def _create_order(key, lines, cart, contact, user):
    currency = shop_currency()
    snapshot = [
        OrderLine(
            variant=line.variant,
            wine_name=line.wine.display_name,
            variant_label=line.variant.label,
            sku=line.variant.sku,
            unit_price=quantize(line.unit_price, currency),
            quantity=line.quantity,
        )
        for line in lines
    ]
    subtotal = quantize(
        sum(line.unit_price * line.quantity for line in snapshot), currency
    )
    discount = quantize(cart.discount, currency)
    coupon_code = cart.coupon.code if cart.coupon is not None and discount else ""
    order = Order.objects.create(
        checkout_key=key,
        user=user if user is not None and user.is_authenticated else None,
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        total=max(subtotal - discount, quantize(0, currency)),
        coupon_code=coupon_code,
        checkout_expires_at=timezone.now() + CHECKOUT_WINDOW,
        stripe_customer_id=returning_stripe_customer(contact["email"]),
        **{field: contact[field] for field in CONTACT_FIELDS},
    )
    for line in snapshot:
        line.order = order
    OrderLine.objects.bulk_create(snapshot)
    return order


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
            from .fulfilment import fulfil_checkout

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
    from .fulfilment import PAID_STATES, fulfil_checkout, transition

    paid, settling = [], []
    earlier_orders = order.same_cart_orders().filter(
        status=OrderStatus.PENDING, created_at__lt=order.created_at
    )
    for earlier in earlier_orders:
        if earlier.stripe_session_id:
            # A session no longer open (paid, or expired) cannot be expired; the
            # retrieve below says which.
            with contextlib.suppress(stripe.InvalidRequestError):
                client.v1.checkout.sessions.expire(
                    earlier.stripe_session_id,
                    options={"idempotency_key": f"cellar-order-{earlier.token}-expire"},
                )
            session = client.v1.checkout.sessions.retrieve(earlier.stripe_session_id)
            if session.status == "complete":
                fulfil_checkout(session.id, cause=f"checkout of {order}")
                done = session.payment_status in PAID_STATES
                (paid if done else settling).append(earlier.reference)
                continue
        _cancel(earlier, f"{Order.SUPERSEDED} {order.reference}", transition)
    settling += (
        order.same_cart_orders()
        .filter(status=OrderStatus.PROCESSING, created_at__lt=order.created_at)
        .values_list("reference", flat=True)
    )
    if settling:
        # A bank debit under way: a second session could pay the same bottles.
        _cancel(order, f"Order {', '.join(settling)} is being paid", transition)
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(settling)} is being processed. "
                "We will email you when it clears; your cart waits until then."
            ]
        )
    if paid:
        # The cart changed under this order: what the earlier one paid for leaves
        # the cart when it is next read, and the shopper checks out what is left.
        _cancel(order, f"Order {', '.join(paid)} of the same cart was paid", transition)
        raise CartNotReady(
            [
                f"Your payment for order {', '.join(paid)} went through a moment "
                "ago, and what it paid for has left your cart. Check what is left "
                "and check out again."
            ]
        )


def _cancel(order, note, transition):
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.PENDING:
            transition(locked, OrderStatus.CANCELLED, "checkout page", note)
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
    forget_stripe_customer(order.stripe_customer_id)
    order.stripe_customer_id = ""
    Order.objects.filter(pk=order.pk).update(stripe_customer_id="")
    return create()
