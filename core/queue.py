"""Queueing background work from a request or a payment."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args):
    """Queue a task once the transaction commits, and never fail the caller for it.

    A broker that is down must not turn a paid order into an error page or a 500
    to Stripe; the periodic sweep queues what could not be queued.
    """

    def publish():
        try:
            task.delay(*args)
        except Exception:
            logger.exception(
                "Could not queue %s%r; the sweep will retry", task.name, args
            )

    transaction.on_commit(publish, robust=True)
