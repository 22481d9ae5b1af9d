"""One Stripe Checkout Session per pending order paid on Stripe's hosted page."""

import contextlib
import hashlib
import json
import logging

import stripe

from core.money import to_minor_units
from home.models import PaymentPage
from orders.customers import forget_stripe_customer
from orders.models import Order
from orders.placement import CartNotReady
from orders.status import OrderStatus

from . import stripe_api
from .ending import PaymentProviderError, supersede_earlier_checkouts
from .fulfilment import fulfil_checkout

logger = logging.getLogger(__name__)


def checkout_session_params(order, success_url, cancel_url, stripe_coupon=None):
    currency = order.currency
    # With Stripe Tax every price says whether the tax is in it or on top of it.
    behavior = (
        {"tax_behavior": "inclusive" if order.prices_include_tax else "exclusive"}
        if order.tax_by_stripe
        else {}
    )
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
                    **behavior,
                },
                "quantity": line.quantity,
            }
            for line in order.lines.all()
        ]
        + _tax_item(order),
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
    if order.shipping_method:
        params["shipping_options"] = [
            {
                "shipping_rate_data": {
                    "type": "fixed_amount",
                    "display_name": order.shipping_method[:100],
                    "fixed_amount": {
                        "amount": to_minor_units(order.shipping, currency),
                        "currency": currency,
                    },
                    **behavior,
                }
            }
        ]
    if order.tax_by_stripe:
        # From the delivery address on the order's Customer (_customer_for_tax).
        params["automatic_tax"] = {"enabled": True}
    return params


def _tax_item(order):
    """The tax the order adds to its prices, as one line: the shop computes it
    (shipping/totals.py), so Stripe's amount_total equals the order's total to
    the cent. Prices that include tax add none."""
    if not order.tax_added:
        return []
    labels = ", ".join(line["label"] for line in order.tax_lines) or "Tax"
    return [
        {
            "price_data": {
                "currency": order.currency,
                "unit_amount": to_minor_units(order.tax, order.currency),
                "product_data": {
                    "name": f"Tax ({labels})",
                    "metadata": {"sku": "TAX"},
                },
            },
            "quantity": 1,
        }
    ]


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
        supersede_earlier_checkouts(client, order)
        session = _create_session(client, order, success_url, cancel_url)
        kept = Order.objects.filter(
            pk=order.pk, status=OrderStatus.PENDING, payment_page=PaymentPage.HOSTED
        ).update(stripe_session_id=session.id)
        if not kept:
            # A newer checkout of the cart (another tab) superseded this order
            # while its session was being made, or another tab is paying it on
            # the shop's page: that session must not be payable.
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


def _customer_for_tax(client, order):
    """Stripe Tax finds the rate from the Customer's shipping address: the order's
    delivery address goes on a Customer. A returning shopper's Customer is used
    when it already has that address; it is never changed (the email it was found
    by is not proven the shopper's), so another address gets a Customer of its
    own, keyed by the order, the email and the address."""
    address = {
        "line1": order.address_line1,
        "line2": order.address_line2,
        "city": order.city,
        "state": order.state,
        "postal_code": order.postal_code,
        "country": order.country.code,
    }
    # Stripe takes an empty string as unsetting a field: those are left out.
    address = {field: value for field, value in address.items() if value}
    if order.stripe_customer_id:
        with contextlib.suppress(stripe.InvalidRequestError):
            known = client.v1.customers.retrieve(order.stripe_customer_id)
            shipping = getattr(known, "shipping", None)
            kept = shipping.address.to_dict() if shipping else {}
            if {k: v for k, v in kept.items() if v} == address:
                return
    shipping = {"name": order.name, "address": address}
    if order.phone:
        shipping["phone"] = order.phone
    digest = hashlib.sha256(
        json.dumps([order.email, order.name, shipping], sort_keys=True).encode()
    ).hexdigest()[:16]
    customer = client.v1.customers.create(
        params={
            "email": order.email,
            "name": order.name,
            "shipping": shipping,
            "metadata": {"order_reference": order.reference},
        },
        options={"idempotency_key": f"cellar-order-{order.token}-customer-{digest}"},
    )
    order.stripe_customer_id = customer.id
    Order.objects.filter(pk=order.pk).update(stripe_customer_id=customer.id)


def _create_session(client, order, success_url, cancel_url):
    if order.tax_by_stripe:
        _customer_for_tax(client, order)
    coupon = _stripe_coupon(client, order)
    return create_with_customer(
        order,
        lambda key: client.v1.checkout.sessions.create(
            params=checkout_session_params(order, success_url, cancel_url, coupon),
            options={"idempotency_key": key},
        ),
        f"cellar-order-{order.token}-session",
    )


def create_with_customer(order, create, key):
    """``create(key)`` a session or intent for the order's Stripe Customer; if
    Stripe no longer has that Customer (deleted in the dashboard, say), forget it
    and create again without.

    The key names the Customer it was used with: Stripe may keep an error that
    came after validation under its key and answer any retry with it
    (https://docs.stripe.com/api/idempotent_requests), so the request without the
    Customer, whose parameters differ, never reuses the key of the one with it."""
    customer = order.stripe_customer_id
    try:
        return create(f"{key}-{customer}" if customer else key)
    except stripe.InvalidRequestError as error:
        gone = error.code == "resource_missing" and error.param == "customer"
        if not (customer and gone):
            raise
    forget_stripe_customer(customer, stripe_api.livemode())
    order.stripe_customer_id = ""
    Order.objects.filter(pk=order.pk).update(stripe_customer_id="")
    return create(key)
