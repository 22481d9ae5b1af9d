from django.core.management.base import BaseCommand, CommandError

from orders.invoices import produce
from orders.models import Invoice


class Command(BaseCommand):
    help = (
        "Render an order's invoice PDF again (same number), e.g. after a template fix."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The order reference, e.g. C-AB12CD3.")

    def handle(self, *args, reference, **options):
        invoice = Invoice.objects.filter(order__reference=reference).first()
        if invoice is None:
            raise CommandError(f"Order {reference} has no invoice.")
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PENDING)
        invoice, _ = produce(invoice.pk)
        self.stdout.write(f"Regenerated {invoice.number} for order {reference}.")
