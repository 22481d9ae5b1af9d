from django.core.management.base import BaseCommand

from checkout.tasks import reconcile_pending_orders


class Command(BaseCommand):
    help = (
        "Ask Stripe about pending orders whose webhook never came: fulfil the paid, "
        "cancel the expired. Beat runs the same task every ten minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=15,
            metavar="MINUTES",
            help="Only orders at least this old (default 15).",
        )

    def handle(self, *args, older_than, **options):
        changed = reconcile_pending_orders(older_than_minutes=older_than)
        self.stdout.write(f"Reconciled pending orders: {changed} changed.")
