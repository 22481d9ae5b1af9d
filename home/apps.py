from django.apps import AppConfig


class HomeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "home"
    verbose_name = "site"

    def ready(self):
        from .caching import connect_signals

        connect_signals()
