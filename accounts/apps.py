from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Shopper accounts"

    def ready(self):
        from . import signals  # noqa: F401
