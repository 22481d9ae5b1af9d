"""Turning a cart into one pending order (checkout/sessions.py then makes its one
Stripe Checkout Session, or checkout/intents.py its one PaymentIntent)."""

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from core.money import quantize, shop_currency
from home.models import PaymentPage, ShopSettings
from shipping import services as shipping
from shipping.totals import as_json

from . import holds
from .customers import ADDRESS_FIELDS, returning_stripe_customer
from .holds import HoldRefused
from .models import Order, OrderLine
from .status import OrderStatus, transition

# An order's checkout ends, and its hold with it, after the shop's hold time
# (Settings › Shop settings, 30 minutes to 24 hours as Stripe allows) and the two
# minutes allowed to make its session (holds.SESSION_MARGIN): Stripe refuses a
# session that would expire in less than 30 minutes.
MIN_SESSION_WINDOW = timedelta(minutes=31)
CONTACT_FIELDS = ("email", *ADDRESS_FIELDS)


class CartNotReady(Exception):
    """The cart cannot be checked out as it is; ``reasons`` say why. ``stale``:
    others hold or bought what the cart was read with, so read it again."""

    def __init__(self, reasons, stale=False):
        super().__init__(reasons)
        self.reasons = reasons
        self.stale = stale


def place_order(cart, contact, user=None, livemode=False, payment_page=None):
    """The pending order for this cart's contents, created once.

    A double submit, a refresh, the back button or a second tab arrive with the same
    cart id and version, so they find the order the first request made. ``cart``
    is read only (its lines from the database, notices, discount and checkout key);
    ``livemode``: which of a returning shopper's Stripe Customers to use;
    ``payment_page``: where it is paid (home.PaymentPage), until Stripe has its
    session or intent.
    """
    payment_page = payment_page or PaymentPage.HOSTED
    lines = cart.from_database().lines
    if cart.notices:
        raise CartNotReady(list(cart.notices))
    if not lines:
        raise CartNotReady(["Your cart is empty."])
    totals, method = _quote(cart, lines, contact)
    key = f"{cart.checkout_key}:{_delivery_digest(contact, method, totals)}"
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(checkout_key=key, status=OrderStatus.PENDING)
            .first()
        )
        if order is not None and not _window_too_short(order):
            email_changed = order.email != contact["email"]
            for field in CONTACT_FIELDS:
                setattr(order, field, contact.get(field, ""))
            if not order.payment_started:
                order.payment_page = payment_page
                if email_changed:
                    order.stripe_customer_id = returning_stripe_customer(
                        order.email, livemode
                    )
            order.save()
            return order
        if order is not None:
            # Stripe wants a session to stay open at least 30 minutes; this order
            # never got one in time, so it closes and the cart gets a fresh order.
            transition(order, OrderStatus.CANCELLED, "checkout page", "No session made")
            order.save()
        try:
            with transaction.atomic():
                return _create_order(
                    key,
                    lines,
                    cart,
                    contact,
                    user,
                    livemode,
                    payment_page,
                    (totals, method),
                )
        except HoldRefused as refused:
            raise CartNotReady(refused.reasons, stale=True) from refused
        except IntegrityError:
            # A concurrent submit of the same cart made it first.
            return Order.objects.get(checkout_key=key, status=OrderStatus.PENDING)


def _window_too_short(order):
    return (
        not order.payment_started
        and order.checkout_expires_at - timezone.now() < MIN_SESSION_WINDOW
    )


def _quote(cart, lines, contact):
    """(totals, method) for sending ``lines`` to the contact's address by the
    method chosen, or the cheapest: the same quote the cart and checkout pages
    show (shipping/services.py). CartNotReady if nothing goes there."""
    country, state = contact["country"], contact.get("state", "")
    chosen = contact.get("shipping_method")
    method = None
    if chosen and shipping.charges_shipping():
        method = shipping.method_for(getattr(chosen, "pk", chosen), country, state)
    currency, shop = shop_currency(), ShopSettings.load()
    try:
        return shipping.quote(
            [quantize(line.unit_price, currency) * line.quantity for line in lines],
            sum(line.bottles for line in lines),
            cart.discount,
            currency=currency,
            country=country,
            state=state,
            method=method,
            prices_include_tax=shop.prices_include_tax,
            tax_at_payment=shop.tax_by_stripe,
        )
    except shipping.NoDelivery as refused:
        raise CartNotReady([refused.reason]) from refused


def _delivery_digest(contact, method, totals):
    """Where, how and for how much the order is sent, in its checkout key: a
    changed address or method, or rates a merchant changed since, price a new
    order (the old one is superseded); anything else finds the same order."""
    where = "|".join(
        str(part)
        for part in (
            contact["country"],
            contact.get("state", ""),
            getattr(method, "pk", ""),
            totals.shipping,
            totals.tax,
            totals.total,
            totals.prices_include_tax,
            totals.tax_at_payment,
        )
    )
    return hashlib.sha256(where.encode()).hexdigest()[:8]


def _create_order(key, lines, cart, contact, user, livemode, payment_page, quoted):
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
    shop = ShopSettings.load()
    totals, method = quoted
    discount = totals.discount
    coupon_code = cart.coupon.code if cart.coupon is not None and discount else ""
    until = holds.hold_end(shop.hold_minutes)
    order = Order.objects.create(
        checkout_key=key,
        user=user if user is not None and user.is_authenticated else None,
        currency=currency,
        subtotal=totals.subtotal,
        discount=discount,
        shipping_method=method.name if method else "",
        shipping=totals.shipping,
        tax=totals.tax,
        shipping_tax=totals.shipping_tax,
        tax_name=totals.rate.name if totals.rate else "",
        tax_percent=totals.rate.percent if totals.rate else None,
        prices_include_tax=totals.prices_include_tax,
        tax_by_stripe=totals.tax_at_payment,
        tax_lines=[as_json(line) for line in totals.tax_lines],
        total=totals.total,
        coupon_code=coupon_code,
        checkout_expires_at=until,
        payment_page=payment_page,
        stripe_customer_id=returning_stripe_customer(contact["email"], livemode),
        **{field: contact.get(field, "") for field in CONTACT_FIELDS},
    )
    for line in snapshot:
        line.order = order
    OrderLine.objects.bulk_create(snapshot)
    # Held in the same transaction: all of it for this shopper, or no order.
    wanted = {line.variant.pk: line.quantity for line in snapshot}
    earlier = order.same_cart_orders().filter(held_until__isnull=False)
    holds.place(order, wanted, until, earlier)
    order.save(update_fields=["held_until"])
    return order


def cart_holders(cart_id):
    """The holders of every checkout of this cart that holds something (all its
    versions), as a subquery: what they hold is the cart's own to buy."""
    return (
        Order.objects.filter(
            checkout_key__startswith=f"{cart_id}:", held_until__isnull=False
        )
        .annotate(holder=Concat(Value(holds.PREFIX), "token"))
        .values("holder")
    )
