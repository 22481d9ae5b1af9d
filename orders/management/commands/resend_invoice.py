from django.core.management.base import BaseCommand, CommandError

from orders.invoices import send
from orders.models import Invoice


class Command(BaseCommand):
    help = "Email an order's invoice to the shopper again."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The order reference, e.g. C-AB12CD3.")

    def handle(self, *args, reference, **options):
        invoice = Invoice.objects.filter(order__reference=reference).first()
        if invoice is None or invoice.status != Invoice.Status.READY:
            raise CommandError(f"Order {reference} has no ready invoice.")
        send(invoice.pk, force=True)
        self.stdout.write(f"Sent {invoice.number} to {invoice.order.email}.")
