from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from home.demo import ADMIN_USERNAME, DemoBuilder


class Command(BaseCommand):
    help = (
        "Build the demo catalogue: countries, regions, wines with variants and "
        "images, shop settings, the Editors and Merchants groups and an admin user. "
        "Idempotent: what exists is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wines", type=int, default=60, help="How many wines (default 60)."
        )

    def handle(self, *args, wines, verbosity, **options):
        if wines < 0:
            raise CommandError("--wines must be zero or more.")

        def log(message):
            if verbosity >= 1:
                self.stdout.write(f"  {message}")

        log("Building the demo catalogue…")
        builder = DemoBuilder(wines=wines, log=log)
        password = builder.build()
        created = builder.created
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue ready: {created['pages']} pages, "
                f"{created['variants']} variants and {created['images']} images "
                "created."
            )
        )
        admin_url = f"{settings.SITE_URL}/admin/"
        if password:
            self.stdout.write(
                self.style.WARNING(
                    f"Admin: {admin_url}  user: {ADMIN_USERNAME}  password: {password}"
                )
            )
        elif verbosity >= 1:
            self.stdout.write(
                f"Admin: {admin_url}  user: {ADMIN_USERNAME}  (password unchanged; "
                f"reset it with `manage.py changepassword {ADMIN_USERNAME}`)"
            )
