from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.builder import DEMO_USERS, DemoBuilder


class Command(BaseCommand):
    help = (
        "Build the demo catalogue: countries, regions, wines with variants and "
        "images, shop settings, an admin and a demo editor and merchant. "
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
        logins = builder.build()
        created = builder.created
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue ready: {created['pages']} pages, "
                f"{created['variants']} variants and {created['images']} images "
                "created."
            )
        )
        admin_url = f"{settings.SITE_URL}/admin/"
        for username, group, _ in DEMO_USERS:
            role = group or "superuser"
            if username in logins:
                self.stdout.write(
                    self.style.WARNING(
                        f"Admin ({role}): {admin_url}  user: {username}  "
                        f"password: {logins[username]}"
                    )
                )
            elif verbosity >= 1:
                self.stdout.write(
                    f"Admin ({role}): {admin_url}  user: {username}  (password "
                    f"unchanged; reset it with `manage.py changepassword {username}`)"
                )
