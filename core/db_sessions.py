"""Sessions that a change can save only if nobody saved them since they were read.

Django saves a session whole: two requests of one shopper at once each read it,
change it and write it, and the later write drops the earlier one's change (eight
adds to one cart at once kept three). ``save_if_unchanged`` is a compare-and-set:
here one conditional UPDATE (atomic in SQLite and PostgreSQL), in core/sessions.py
one Redis script. The cart makes its change again on a fresh read when it fails.

After such a save, the session middleware's own save at the end of the response
(which must still run: it sends the cookie) writes nothing unless the session
changed again; a whole-session write then could undo a change made meanwhile.
"""

import copy

from django.contrib.sessions.backends import db
from django.db import router


class CompareAndSet:
    _loaded = None  # the session as stored when read
    _committed = None  # the session as save_if_unchanged last stored it

    def save_if_unchanged(self):
        """Save if the stored session is still the one read; whether it was. A
        session new in this request is created as usual."""
        if self.session_key is None or self._loaded is None:
            self.save(must_create=self.session_key is None)
            saved = True
        else:
            saved = self._replace_if_unchanged()
        if saved:
            self._committed = copy.deepcopy(self._get_session(no_load=False))
        return saved

    def _saved_already(self, must_create):
        return (
            not must_create
            and self._committed is not None
            and self._get_session(no_load=False) == self._committed
        )


class SessionStore(CompareAndSet, db.SessionStore):
    def load(self):
        stored = self._get_session_from_db()
        if stored is None:
            return {}
        self._loaded = stored.session_data
        return self.decode(stored.session_data)

    def save(self, must_create=False):
        if not self._saved_already(must_create):
            super().save(must_create=must_create)

    def _replace_if_unchanged(self):
        data = self.encode(self._get_session(no_load=False))
        saved = (
            self.model.objects.using(router.db_for_write(self.model))
            .filter(session_key=self.session_key, session_data=self._loaded)
            .update(session_data=data, expire_date=self.get_expiry_date())
        )
        if saved:
            self._loaded = data
        return bool(saved)
