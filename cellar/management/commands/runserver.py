from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as RunserverCommand,
)

from cellar.embedded import start_embedded_beat


class Command(RunserverCommand):
    """Django's runserver, plus beat's periodic sweeps in-process when there is
    no worker (the embedded default of `make run`: see cellar/embedded.py)."""

    def inner_run(self, *args, **options):
        # inner_run is the serving process (the autoreloader's child).
        start_embedded_beat()
        super().inner_run(*args, **options)
