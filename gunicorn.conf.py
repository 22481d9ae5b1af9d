"""Gunicorn settings for every way Cellar is served: the Docker image's CMD and
`make bench` pass this file (gunicorn would also read it from the working
directory on its own). Bind address and worker count stay on the command line.
"""

import gc


def post_worker_init(worker):
    """Move what a worker loaded at start out of the garbage collector's sight.

    Django, Wagtail and the shop's modules, models and URLs are some 190,000
    objects that live as long as the worker. Each full collection walked them
    all: 100-150 ms in which the worker answered nobody, and every request
    queued behind it waited (seen under `make bench`). Frozen, they are never
    scanned again (a full collection takes 5-14 ms); what requests create is
    collected as before.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - import every view module now
    gc.freeze()
