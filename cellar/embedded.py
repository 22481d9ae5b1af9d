"""Celery beat's schedule, run in-process, for the embedded default (`make run`).

Without ``REDIS_URL`` there is no broker and no worker: tasks run eagerly in the
request or thread that queues them, and a failure is retried at once (Celery
re-applies an eager task on ``self.retry``). What still fails (a mail server down
for minutes) is left recorded in the database, and the periodic tasks that find
such work in production (``queue_missing_invoices``, ``reconcile_pending_orders``)
run here on a thread beside the dev server, on beat's own schedule. Every task is
idempotent, so a sweep that meets work already under way does nothing twice.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from .celery import app

logger = logging.getLogger(__name__)


class EmbeddedBeat:
    """Run each ``CELERY_BEAT_SCHEDULE`` entry every ``schedule`` seconds.

    ``schedule`` entries must be numbers of seconds (crontabs are not needed
    here); ``first_run_after`` delays the first sweep (the server is starting).
    """

    def __init__(self, schedule=None, first_run_after=None):
        self.app = app
        # As a worker does when it starts: import every app's tasks module, so the
        # schedule finds tasks no request of this process has imported.
        app.loader.import_default_modules()
        self.schedule = dict(
            settings.CELERY_BEAT_SCHEDULE if schedule is None else schedule
        )
        if first_run_after is None:
            first_run_after = settings.EMBEDDED_BEAT_FIRST_RUN_SECONDS
        start = time.monotonic() + first_run_after
        self.due = dict.fromkeys(self.schedule, start)
        self.runs = dict.fromkeys(self.schedule, 0)
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=self._loop, name="cellar-embedded-beat", daemon=True
        )

    def start(self):
        self.thread.start()
        logger.info(
            "Embedded beat: %s",
            ", ".join(
                f"{entry['task']} every {entry['schedule']:g} s"
                for entry in self.schedule.values()
            ),
        )
        return self

    def stop(self, timeout=10):
        self._stop.set()
        self.thread.join(timeout)

    def _loop(self):
        while not self._stop.is_set():
            now = time.monotonic()
            for name, entry in self.schedule.items():
                if now >= self.due[name]:
                    self._run(name, entry)
                    self.due[name] = time.monotonic() + float(entry["schedule"])
            wake = min(self.due.values(), default=now + 1)
            self._stop.wait(max(0.05, wake - time.monotonic()))

    def _run(self, name, entry):
        close_old_connections()
        try:
            task = self.app.tasks[entry["task"]]
            task.apply(
                args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True
            )
        except Exception:
            # The next run tries again; what it sweeps is in the database.
            logger.exception("Embedded beat: %s failed", entry["task"])
        finally:
            self.runs[name] += 1
            connection.close()


def start_embedded_beat():
    """Start the schedule beside the dev server when tasks run in-process."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    return EmbeddedBeat().start()
