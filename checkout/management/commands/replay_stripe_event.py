from django.core.management.base import BaseCommand, CommandError

from checkout.models import StripeEvent
from checkout.webhooks import replay_event


class Command(BaseCommand):
    help = "Run a recorded Stripe event's handler again (handlers are idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("event_id", help="The evt_… id from the ledger.")

    def handle(self, *args, event_id, **options):
        try:
            status = replay_event(event_id)
        except StripeEvent.DoesNotExist as missing:
            raise CommandError(
                f"No Stripe event {event_id} in the ledger."
            ) from missing
        self.stdout.write(f"Replayed {event_id}: {status}.")
