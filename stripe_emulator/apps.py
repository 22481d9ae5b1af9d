from django.apps import AppConfig


class StripeEmulatorConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stripe_emulator"
    verbose_name = "Stripe emulator"
