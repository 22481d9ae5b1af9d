"""What a process keeps in memory until the catalogue's version moves on."""

from .clock import current_version, seconds

_derived = {}
# Entries are per name and host, and hosts come from requests (every port of an
# allowed host is one): past this many, a process starts afresh.
LIMIT = 2_000


def per_version(name, request, compute):
    """``compute()``, kept by this process until the catalogue changes: for what every
    page shows around its content (the header's countries, the footer's links, the
    shop's settings), so pages the cache does not hold (cart, checkout, orders) skip
    those queries too."""
    if not seconds():
        return compute()
    version = current_version(request)
    key = (name, request.get_host() if request is not None else "")
    hit = _derived.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    if key not in _derived and len(_derived) >= LIMIT:
        _derived.clear()
    _derived[key] = (version, value)
    return value


class VersionedRows:
    """Rows by key, each read from the database once per catalogue version.

    ``fetch(ids)`` (given here or to each call) answers ``{id: row}`` for the ids
    it found, in one query. This process keeps every row with the version it was
    read at and reads again only the ids whose copy is older than the catalogue's
    current version, so the cart's display reads cost no query while nothing
    changes, and see a change as soon as the version moves on. The version is read
    before the rows, so a copy is never older than the version it is filed under.

    Rows are shared by every request of the process: readers must not change them.
    """

    LIMIT = 20_000

    def __init__(self, fetch=None):
        self._fetch = fetch
        self._rows = {}

    def get_many(self, ids, request=None, fetch=None):
        fetch = fetch or self._fetch
        if not seconds():
            return fetch(ids)
        version = current_version(request)
        rows = self._rows
        found, missing = {}, []
        for pk in ids:
            entry = rows.get(pk)
            if entry is None or entry[0] != version:
                missing.append(pk)
            elif entry[1] is not None:
                found[pk] = entry[1]
        if missing:
            if len(rows) + len(missing) > self.LIMIT:
                rows.clear()
            fetched = fetch(missing)
            for pk in missing:
                row = fetched.get(pk)
                rows[pk] = (version, row)  # None: no such row, until the next version
                if row is not None:
                    found[pk] = row
        return found


def forget():
    _derived.clear()
