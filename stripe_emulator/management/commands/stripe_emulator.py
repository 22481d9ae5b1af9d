from django.core.management.base import BaseCommand, CommandError

from stripe_emulator import payments, webhooks
from stripe_emulator.errors import ErrorResponse
from stripe_emulator.models import EmulatedEvent


class Command(BaseCommand):
    help = "Drive the Stripe emulator: deliver events, expire sessions, settle debits."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        deliver = commands.add_parser("deliver", help="Send every pending event.")
        deliver.add_argument("--url", help="Webhook URL (default: the shop's).")
        deliver.add_argument("--type", action="append", dest="types")
        deliver.add_argument("--reversed", action="store_true", dest="reverse")
        commands.add_parser("expire_due", help="Expire open sessions past expires_at.")
        events = commands.add_parser("events", help="List events, newest last.")
        events.add_argument("--pending", action="store_true")
        settle = commands.add_parser("settle", help="Finish a bank debit.")
        settle.add_argument("session_id")
        settle.add_argument("--fail", action="store_true")
        commands.add_parser(
            "fail_refunds",
            help="Fail the refunds of 4000000000005126 payments, as Stripe does later.",
        )

    def handle(self, *args, command, **options):
        getattr(self, command)(**options)
        webhooks.wait_for_deliveries(timeout=40)

    def deliver(self, *, url, types, reverse, **options):
        transport = webhooks.http_transport(url or webhooks.webhook_url())
        order = "reversed" if reverse else "created"
        for event in webhooks.deliver_pending(
            transport=transport, order=order, types=types
        ):
            self.stdout.write(f"{event.id} {event.type}: {event.last_status}")

    def expire_due(self, **options):
        for session_id in payments.expire_due():
            self.stdout.write(f"expired {session_id}")

    def events(self, *, pending, **options):
        events = webhooks.pending_events() if pending else EmulatedEvent.objects.all()
        for event in events:
            status = (
                "delivered" if event.delivered else f"pending ({event.last_status})"
            )
            self.stdout.write(
                f"{event.created:%Y-%m-%d %H:%M:%S} {event.id} {event.type} {status}"
            )

    def settle(self, *, session_id, fail, **options):
        try:
            session = payments.settle(session_id, succeeded=not fail)
        except (payments.PaymentError, ErrorResponse) as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{session_id}: payment_status {session['payment_status']}")

    def fail_refunds(self, **options):
        for refund_id in payments.refunds_due_to_fail():
            refund = payments.fail_refund(refund_id)
            self.stdout.write(f"{refund_id}: {refund['status']}")
