"""Customers: recognised by email on the paid transition, one Stripe Customer each."""

import logging

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from .models import Customer
from .status import SOLD

logger = logging.getLogger(__name__)
PAID_ORDER = Q(orders__status__in=SOLD)
# What a delivery needs; an order also takes the email (orders.CONTACT_FIELDS).
ADDRESS_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "state",
    "country",
    "phone",
)


def returning_stripe_customer(email, livemode):
    """The Stripe Customer id of a shopper who paid before, for the key mode in
    use; empty for a new shopper (their session asks Stripe to create one)."""
    customer = Customer.objects.for_email(email).first()
    return customer.stripe_id(livemode) if customer else ""


def forget_stripe_customer(stripe_id, livemode):
    """Stripe no longer knows this Customer; the next paid order records a new one."""
    field = Customer.stripe_id_field(livemode)
    Customer.objects.filter(**{field: stripe_id}).update(**{field: ""})


def record_customer(order, stripe_id, livemode):
    """Create or update the order's Customer; call on the paid transition, with
    the order row locked, before the order is saved.

    Concurrent first orders of one email make one row: the insert that loses on
    the case-insensitive unique index does nothing, and both then lock that row.
    """
    customers = Customer.objects.select_for_update().for_email(order.email)
    customer = customers.first()
    if customer is None:
        Customer.objects.bulk_create(
            [Customer(email=order.email, name=order.name)], ignore_conflicts=True
        )
        customer = customers.get()
    paid_at = order.paid_at
    if customer.last_order_at is None or paid_at >= customer.last_order_at:
        for field in ADDRESS_FIELDS:
            setattr(customer, field, getattr(order, field))
        customer.last_order_at = paid_at
    if customer.first_order_at is None or paid_at < customer.first_order_at:
        customer.first_order_at = paid_at
    if customer.user_id is None and order.user_id is not None:
        customer.user_id = order.user_id
    if stripe_id:
        _keep_stripe_id(customer, stripe_id, livemode)
        order.stripe_customer_id = stripe_id
    customer.save()
    order.customer = customer
    return customer


def _keep_stripe_id(customer, stripe_id, livemode):
    """Store the id Stripe returned under its own mode, unless the customer has one
    there already (two first orders paid at once each made a Stripe Customer)."""
    field = Customer.stripe_id_field(livemode)
    current = getattr(customer, field)
    if current == stripe_id:
        return
    held = Customer.objects.filter(**{field: stripe_id}).exclude(pk=customer.pk)
    if current or held.exists():
        reason = f"it has {current}" if current else "another customer has it"
        logger.warning(
            "Stripe Customer %s not kept for %s: %s", stripe_id, customer, reason
        )
        return
    setattr(customer, field, stripe_id)


def with_totals(queryset):
    """Paid orders and amount spent (net of refunds), in the listing's one query."""
    zero = Value(0, output_field=DecimalField(max_digits=12, decimal_places=2))
    return queryset.annotate(
        order_count=Count("orders", filter=PAID_ORDER),
        amount_spent=Coalesce(
            Sum(F("orders__total") - F("orders__amount_refunded"), filter=PAID_ORDER),
            zero,
        ),
    )
