"""Sessions in Redis, written in one round trip.

Django's cache sessions save an existing session with a read and then a write, so
that a session deleted meanwhile (a logout in another tab) is not brought back.
Redis's ``SET … XX`` writes only a key that exists: the same rule, in one atomic
command. Adding to the cart saves the session, so this is one round trip fewer on
the shop's busiest write.
"""

from django.contrib.sessions.backends import cache
from django.contrib.sessions.backends.base import UpdateError


class SessionStore(cache.SessionStore):
    def save(self, must_create=False):
        replace = getattr(self._cache, "replace", None)
        if self.session_key is None or must_create or replace is None:
            return super().save(must_create=must_create)
        data = self._get_session(no_load=False)
        if not replace(self.cache_key, data, self.get_expiry_age()):
            raise UpdateError
