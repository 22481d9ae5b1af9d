"""The catalogue's version: one number in the shared cache that every change to
what catalogue pages show moves on, so every copy made at an older one is stale.

Apps say what changes their pages (``watch``, ``changed``); this package never
looks at their models.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

VERSION_KEY = "catalogue:version"
_last_read = [None, 0.0]


def seconds():
    """How long a page is kept (``CATALOGUE_CACHE_SECONDS``); 0 turns caching off."""
    return getattr(settings, "CATALOGUE_CACHE_SECONDS", 0)


def version_check_seconds():
    return getattr(settings, "CATALOGUE_VERSION_CHECK_SECONDS", 0)


def changed(**kwargs):
    """Move the version on now and again at commit (a request may have cached the
    old state between the two). A signal receiver: any arguments are ignored."""
    _bump()
    transaction.on_commit(_bump)


def watch(*models, signals=()):
    """Move the version on whenever a row of ``models`` is saved or deleted, and
    whenever one of ``signals`` is sent (an app calls it for what its pages show)."""
    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(changed, sender=model, dispatch_uid="pagecache")
    for signal in signals:
        signal.connect(changed, dispatch_uid="pagecache")


def _bump():
    try:
        _remember(cache.incr(VERSION_KEY))
    except ValueError:
        new_version()


def new_version():
    # Time-based, so a version lost from the cache never comes back with old pages.
    version = time.time_ns()
    cache.add(VERSION_KEY, version, timeout=None)
    return _remember(cache.get(VERSION_KEY, version))


def read_version():
    """The version in the shared cache, as this process last saw it.

    Asking Redis is a round trip on every page served from the cache, the largest
    part of its cost, so a process trusts what it read for
    ``CATALOGUE_VERSION_CHECK_SECONDS`` (a few hundredths of a second). Its own
    changes it sees at once; another process's, within that time. Carts do not
    wait: they read the version with the session (core/sessions.py).
    """
    version, read_at = _last_read
    now = time.monotonic()
    if version is not None and now - read_at < version_check_seconds():
        return version
    return _remember(cache.get(VERSION_KEY), now)


def _remember(version, now=None):
    if version is not None:
        _last_read[:] = [version, time.monotonic() if now is None else now]
    return version


def current_version(request=None):
    """The catalogue's version, read from the shared cache once per request (by
    the session store, when it has loaded this request's session: core/sessions)."""
    version = getattr(request, "_catalogue_now", None)
    if version is None:
        session = getattr(request, "session", None)
        version = getattr(session, "catalogue_version", None)
        if version is None:
            version = read_version() or new_version()
        if request is not None:
            request._catalogue_now = version
    return version


def forget():
    _last_read[:] = [None, 0.0]
