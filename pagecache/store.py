"""Which responses are cached, under which key, and the entries themselves."""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache

from . import holes
from .clock import new_version, read_version, seconds

# Changes whenever the shape of a cached entry does, so a deploy never reads old ones.
ENTRY_FORMAT = 2
# Query parameters the catalogue pages read; any other one is not cached, so
# made-up query strings cannot fill the cache.
CACHED_PARAMETERS = frozenset(
    {"q", "page", "sort", "country", "region", "colour", "grape"}
    | {"min_price", "max_price", "min_vintage", "max_vintage"}
)
LOCAL_ENTRIES = 200
_local = {}


# Set in a signed-in visitor's session by the app at sign-in when that visitor
# sees the pages everyone sees (a shopper; not an editor, who sees the user bar,
# drafts and previews): their catalogue pages come from the cache, holes filled.
SHARED_PAGES_SESSION_KEY = "pagecache_shared_pages"


def _signed_in(request):
    """Whether the session is signed in, without loading the user."""
    session = getattr(request, "session", None)
    return session is not None and SESSION_KEY in session


def sees_shared_pages(request):
    """Whether this visitor sees pages as everyone does: anonymous, or a shopper
    signed in (not an editor)."""
    return not _signed_in(request) or bool(
        request.session.get(SHARED_PAGES_SESSION_KEY)
    )


def page_key(request):
    """The cache key of this request's page, or None when it must not be cached."""
    if not seconds() or request.method not in ("GET", "HEAD"):
        return None
    if not getattr(settings, "CATALOGUE_PAGE_CACHE", True):
        return None
    if not CACHED_PARAMETERS.issuperset(request.GET):
        return None
    if any(len(values) > 1 for _, values in request.GET.lists()):
        return None
    if not sees_shared_pages(request):
        return None  # editors see the user bar, drafts, previews
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return f"catalogue:page:{ENTRY_FORMAT}:{url}"


def cacheable(request, unless=None):
    """Called by a view: its response may be cached for everyone.

    ``unless()``, asked only when the response would be cached, answers whether it
    is private after all (a preview, a page behind a password or login: a visitor
    who got through must not hand it to everyone else).
    """
    if getattr(request, "_catalogue_key", None) is None:
        return
    if unless is not None and unless():
        return
    request._catalogue_cacheable = True


def not_canonical(request):
    """Called by a view whose query it had to correct or refuse (a page past the
    last, a price it could not read, a query with stray spaces): the answer is not
    cached, so made-up query values cannot fill the cache."""
    request._catalogue_cacheable = False


def may_store(request, version):
    """Pages without a query are as many as the catalogue has; pages with one are
    counted, and at most CATALOGUE_CACHE_QUERY_PAGES are stored per version each
    cache lifetime, so the cache's size is bounded whatever queries are sent."""
    if not request.GET:
        return True
    key = f"catalogue:query-pages:{version}"
    cache.add(key, 0, seconds())
    try:
        stored = cache.incr(key)
    except ValueError:  # expired between the two
        cache.add(key, 1, seconds())
        stored = 1
    if stored == 1:  # an increment that made the key afresh gave it no expiry
        cache.touch(key, seconds())
    return stored <= settings.CATALOGUE_CACHE_QUERY_PAGES


def get(key):
    """The current entry for ``key`` (or None) and the catalogue's version.

    Each worker keeps recent entries in memory, so a hit costs one small read of
    the version from the shared cache; other workers' entries come from it.
    """
    version = read_version()
    if version is None:
        return None, new_version()
    entry = _local.get(key)
    if entry is None or entry["version"] != version:
        entry = cache.get(key)
        if entry is None or entry["version"] != version:
            return None, version
        entry = _keep(key, entry)
    return entry, version


def put(key, entry):
    _keep(key, entry)
    cache.set(key, entry, seconds())


def _keep(key, entry):
    # Kept split at its holes' markers, so each hit's filling is a join.
    kept = _local[key] = {**entry, "parts": holes.parts(entry["html"])}
    if len(_local) > LOCAL_ENTRIES:
        del _local[next(iter(_local))]
    return kept


def forget():
    _local.clear()
