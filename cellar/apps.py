from django.apps import AppConfig


class CellarConfig(AppConfig):
    """The project: settings, URLs, Celery, and ``runserver`` with the embedded
    default's background work (cellar/embedded.py)."""

    name = "cellar"
