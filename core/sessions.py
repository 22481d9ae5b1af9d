"""Sessions in Redis, each read and each write one round trip.

Django's cache sessions save an existing session with a read and then a write, so
that a session deleted meanwhile (a logout in another tab) is not brought back.
Redis's ``SET … XX`` writes only a key that exists: the same rule, in one atomic
command. Adding to the cart saves the session, so this is one round trip fewer on
the shop's busiest write.

A request that reads its session almost always shows a cart, and a cart needs the
catalogue's version (pagecache/clock.py) to know whether this process's copy of the
variants still holds. Loading the session reads that version in the same round
trip when sessions and the cache share a Redis (one MGET); the request then uses
it instead of asking again. On a Redis of their own, sessions read only the session.
"""

from django.contrib.sessions.backends import cache
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches

from pagecache import VERSION_KEY

from .db_sessions import CompareAndSet


class SessionStore(CompareAndSet, cache.SessionStore):
    catalogue_version = None

    def load(self):
        get_along = getattr(self._cache, "get_along", None)
        if get_along is None:
            return super().load()
        try:
            data, version, self._loaded = get_along(
                self.cache_key, caches["default"], VERSION_KEY
            )
        except Exception:
            # As Django's: a session that cannot be read is a new, empty one.
            data, version = None, None
        self.catalogue_version = version
        if data is not None:
            return data
        self._session_key = None
        return {}

    def save(self, must_create=False):
        if self._saved_already(must_create):
            return
        replace = getattr(self._cache, "replace", None)
        if self.session_key is None or must_create or replace is None:
            return super().save(must_create=must_create)
        data = self._get_session(no_load=False)
        if not replace(self.cache_key, data, self.get_expiry_age()):
            raise UpdateError

    def _replace_if_unchanged(self):
        replace_if = getattr(self._cache, "replace_if", None)
        if replace_if is None:
            self.save()
            return True
        data = self._get_session(no_load=False)
        written = replace_if(self.cache_key, self._loaded, data, self.get_expiry_age())
        if written is not None:
            self._loaded = written
        return written is not None
