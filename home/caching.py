"""Catalogue pages served from the cache, with each shopper's own parts filled in.

A catalogue page (home, wines index, country, region, wine, search) looks the same
to every anonymous visitor except for a few *holes*: the cart badge, the messages
and the CSRF token. Its HTML is cached once per URL with those holes left as
markers, and every request fills them in for its own shopper, so nobody ever sees
another shopper's cart. The hit path skips Wagtail's routing and the page's queries.

Every entry carries the catalogue's version. Publishing, unpublishing, moving or
deleting a page, editing a variant, a grape, an image, the shop settings or a view
restriction, and a paid order that takes a wine's stock low (checkout/fulfilment.py)
all move the version on, so the next request renders afresh: a published change
shows at once in the process that made it, and within CATALOGUE_VERSION_CHECK_SECONDS
in the others.
"""

import logging
import re
import time

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html

from cellar import ratelimit

logger = logging.getLogger(__name__)
VERSION_KEY = "catalogue:version"
# Changes whenever the shape of a cached entry does, so a deploy never reads old ones.
ENTRY_FORMAT = 2
# Query parameters the catalogue pages read; any other one is not cached, so
# made-up query strings cannot fill the cache.
CACHED_PARAMETERS = frozenset(
    {"q", "page", "sort", "country", "region", "colour", "grape"}
    | {"min_price", "max_price"}
)
_HOLE = re.compile(r"<!--hole:(\w+)-->(.*?)<!--/hole:\1-->", re.S)
# What must only ever be inside a hole: a visitor's CSRF token.
_PRIVATE = re.compile(r"csrfmiddlewaretoken")
_EMPTY_HOLE = re.compile(r"<!--hole:(\w+)-->")


def seconds():
    return getattr(settings, "CATALOGUE_CACHE_SECONDS", 0)


def catalogue_changed(**kwargs):
    """Move the version on now and again at commit (a request may have cached the
    old state between the two)."""
    _bump()
    transaction.on_commit(_bump)


def _bump():
    try:
        _remember(cache.incr(VERSION_KEY))
    except ValueError:
        _new_version()


def _new_version():
    # Time-based, so a version lost from the cache never comes back with old pages.
    version = time.time_ns()
    cache.add(VERSION_KEY, version, timeout=None)
    return _remember(cache.get(VERSION_KEY, version))


def version_check_seconds():
    return getattr(settings, "CATALOGUE_VERSION_CHECK_SECONDS", 0)


def _read_version():
    """The version in the shared cache, as this process last saw it.

    Asking Redis is a round trip on every page served from the cache, the largest
    part of its cost, so a process trusts what it read for
    ``CATALOGUE_VERSION_CHECK_SECONDS`` (a few hundredths of a second). Its own
    changes it sees at once; another process's, within that time. Carts do not
    wait: they read the version with the session (cellar/sessions.py).
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


def forget():
    """Drop what this process keeps (tests that clear the shared cache call it)."""
    _last_read[:] = [None, 0.0]
    _local.clear()
    _derived.clear()


def current_version(request=None):
    """The catalogue's version, read from the shared cache once per request (by
    the session store, when it has loaded this request's session: cellar/sessions)."""
    version = getattr(request, "_catalogue_now", None)
    if version is None:
        session = getattr(request, "session", None)
        version = getattr(session, "catalogue_version", None)
        if version is None:
            version = _read_version() or _new_version()
        if request is not None:
            request._catalogue_now = version
    return version


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
    _derived[key] = (version, value)
    return value


def shop_settings(request=None):
    """The ShopSettings, kept by this process until the catalogue changes (saving
    them moves it on): the header, the footer and every price show them."""
    from .models import ShopSettings

    return per_version(
        "shop_settings", request, lambda: ShopSettings.load(request_or_site=request)
    )


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


def page_key(request):
    """The cache key of this request's page, or None when it must not be cached."""
    if not seconds() or request.method not in ("GET", "HEAD"):
        return None
    if not CACHED_PARAMETERS.issuperset(request.GET):
        return None
    if any(len(values) > 1 for _, values in request.GET.lists()):
        return None
    if request.user.is_authenticated:  # editors see the user bar, drafts, previews
        return None
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return f"catalogue:page:{ENTRY_FORMAT}:{url}"


def mark_cacheable(request, page=None):
    """Called by a catalogue view: its response may be cached for everyone.

    Not a preview, and not a page behind a password or login: a visitor who got
    through the restriction must not hand the page to everyone else.
    """
    if getattr(request, "_catalogue_key", None) is None:
        return
    if getattr(request, "is_preview", False):
        return
    if page is not None and page.get_view_restrictions().exists():
        return
    request._catalogue_cacheable = True


def not_canonical(request):
    """Called by a catalogue view whose query it had to correct or refuse (a page
    past the last, a price it could not read, a query with stray spaces): the
    answer is not cached, so made-up query values cannot fill the cache."""
    request._catalogue_cacheable = False


def _may_store(request, version):
    """Pages without a query are as many as the catalogue has; pages with one are
    counted, and at most CATALOGUE_CACHE_QUERY_PAGES are stored per version each
    cache lifetime, so the cache's size is bounded whatever queries are sent."""
    if not request.GET:
        return True
    budget = {f"catalogue:query-pages:{version}": settings.CATALOGUE_CACHE_QUERY_PAGES}
    return ratelimit.take(budget, seconds()).allowed


def hole(request, name, content):
    """Wrap a per-shopper part of a page so the cached copy leaves it out."""
    if getattr(request, "_catalogue_key", None) is None:
        return content
    return f"<!--hole:{name}-->{content}<!--/hole:{name}-->"


def _cart_link(request):
    from cart.services import Cart

    cart = SimpleLazyObject(lambda: Cart.for_request(request))
    return render_to_string("includes/cart_link.html", {"cart": cart})


def _messages(request):
    from django.contrib.messages import get_messages

    return render_to_string(
        "includes/messages.html", {"messages": get_messages(request)}
    )


def _csrf(request):
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
        get_token(request),
    )


HOLES = {"cart_link": _cart_link, "messages": _messages, "csrf": _csrf}
HOLES_TEMPLATES = {
    "cart_link": "includes/cart_link.html",
    "messages": "includes/messages.html",
}
LOCAL_ENTRIES = 200
_last_read = [None, 0.0]
_local = {}
_new_visitor_parts = {}
_derived = {}
_CSRF_MARK = "<!--csrf-->"


class CataloguePageCacheMiddleware:
    """Answer catalogue pages from the cache; store the ones views marked cacheable.

    Runs after authentication and messages; looks only at the views that render
    catalogue pages, so every other URL costs nothing here.
    """

    def __init__(self, get_response):
        from wagtail.views import serve

        from home.views import search

        self.get_response = get_response
        self.views = {serve, search}

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_func not in self.views:
            return None
        key = page_key(request)
        if key is None:
            return None
        request._catalogue_key = key
        entry, version = _get(key)
        if entry is None:
            request._catalogue_version = version
            return None
        request._catalogue_hit = True
        if _is_new_visitor(request):
            # No session and no messages: the holes hold the same for everyone but
            # the CSRF token, which a new visitor always gets afresh.
            body = entry["new_visitor_html"].replace(_CSRF_MARK, _csrf(request))
        else:
            body = _EMPTY_HOLE.sub(lambda m: HOLES[m[1]](request), entry["html"])
        return HttpResponse(
            body, status=entry["status"], content_type=entry["content_type"]
        )

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "_catalogue_key", None)
        if key is None or getattr(request, "_catalogue_hit", False):
            return response
        if not isinstance(response, HttpResponse):
            return response
        if "text/html" not in response.get("Content-Type", ""):
            return response
        html = response.content.decode(response.charset)
        if (
            getattr(request, "_catalogue_cacheable", False)
            and response.status_code == 200
            and getattr(request, "_catalogue_version", None) is not None
            and _may_store(request, request._catalogue_version)
            and _shareable(request, html)
        ):
            template = _HOLE.sub(lambda m: f"<!--hole:{m[1]}-->", html)
            entry = {
                "version": request._catalogue_version,
                "status": response.status_code,
                "content_type": response["Content-Type"],
                "html": template,
                "new_visitor_html": _EMPTY_HOLE.sub(_new_visitor_hole, template),
            }
            _local[key] = entry
            if len(_local) > LOCAL_ENTRIES:
                del _local[next(iter(_local))]
            cache.set(key, entry, seconds())
        response.content = _HOLE.sub(lambda m: m[2], html)
        return response


def _shareable(request, html):
    """Whether the page, its holes left out, holds nothing of this visitor's: a
    CSRF token outside a hole (a ``{% csrf_token %}`` a template author put outside
    ``{% hole %}``) would hand one visitor's token to everyone. Such a page is
    served but never stored, and the mistake is logged."""
    if not _PRIVATE.search(_HOLE.sub("", html)):
        return True
    logger.error(
        "Not caching %s: a CSRF token outside a hole (wrap it in the csrf hole)",
        request.path,
    )
    return False


def _get(key):
    """The current entry for ``key`` (or None) and the catalogue's version.

    Each worker keeps recent entries in memory, so a hit costs one small read of
    the version from the shared cache; other workers' entries come from it.
    """
    version = _read_version()
    if version is None:
        return None, _new_version()
    entry = _local.get(key)
    if entry is None or entry["version"] != version:
        entry = cache.get(key)
        if entry is None or entry["version"] != version:
            return None, version
        _local[key] = entry
        if len(_local) > LOCAL_ENTRIES:
            del _local[next(iter(_local))]
    return entry, version


def _is_new_visitor(request):
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def _new_visitor_hole(match):
    name = match[1]
    if name == "csrf":
        return _CSRF_MARK
    if name not in _new_visitor_parts:
        context = {"cart": {"count": 0}} if name == "cart_link" else {"messages": []}
        template = HOLES_TEMPLATES[name]
        _new_visitor_parts[name] = render_to_string(template, context)
    return _new_visitor_parts[name]


def connect_signals():
    from django.db.models.signals import post_delete, post_save
    from wagtail.images import get_image_model
    from wagtail.models import Page, PageViewRestriction, Site
    from wagtail.signals import page_published, page_unpublished, post_page_move

    from products.models import GrapeVariety, WineVariant

    from .models import ShopSettings

    for signal in (page_published, page_unpublished, post_page_move):
        signal.connect(catalogue_changed, dispatch_uid="catalogue_changed")
    for model in (
        WineVariant,
        GrapeVariety,
        ShopSettings,
        Site,
        PageViewRestriction,
        get_image_model(),
    ):
        for signal in (post_save, post_delete):
            signal.connect(catalogue_changed, sender=model, dispatch_uid="catalogue")

    def page_deleted(sender, instance, **kwargs):
        if isinstance(instance, Page):
            catalogue_changed()

    post_delete.connect(page_deleted, weak=False, dispatch_uid="catalogue_page")
