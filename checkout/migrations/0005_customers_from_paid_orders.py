"""A Customer for every email that already has paid orders, so an existing shop's
Customers listing starts with its past buyers. Stripe Customer ids stay empty: those
orders' sessions made none, and the next paid order records one."""

from django.db import migrations

PAID = ("paid", "refunded")
ADDRESS_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "country",
)


def create_customers(apps, schema_editor):
    Customer = apps.get_model("checkout", "Customer")
    Order = apps.get_model("checkout", "Order")
    customers = {c.email.lower(): c for c in Customer.objects.all()}
    orders = Order.objects.filter(
        status__in=PAID, customer__isnull=True, paid_at__isnull=False
    ).order_by("paid_at", "pk")
    for order in orders.iterator():
        customer = customers.get(order.email.lower())
        if customer is None:
            customer = Customer.objects.create(
                email=order.email, first_order_at=order.paid_at, name=order.name
            )
            customers[order.email.lower()] = customer
        if customer.last_order_at is None or order.paid_at >= customer.last_order_at:
            for field in ADDRESS_FIELDS:
                setattr(customer, field, getattr(order, field))
            customer.last_order_at = order.paid_at
        if customer.first_order_at is None or order.paid_at < customer.first_order_at:
            customer.first_order_at = order.paid_at
        if customer.user_id is None:
            customer.user_id = order.user_id
        customer.save()
        Order.objects.filter(pk=order.pk).update(customer=customer)


class Migration(migrations.Migration):
    dependencies = [("checkout", "0004_merchants_view_customers")]

    operations = [migrations.RunPython(create_customers, migrations.RunPython.noop)]
