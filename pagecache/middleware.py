"""Serve cached pages, and store the ones their views said may be shared."""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse

from . import holes, store

_views = set()


def serve_cached(*views):
    """The view functions whose pages the cache may hold (an app's ``ready``)."""
    _views.update(views)


class CataloguePageCacheMiddleware:
    """Answer cached pages from the cache; store the ones views marked cacheable.

    Runs after authentication and messages; looks only at the views registered
    with ``serve_cached``, so every other URL costs nothing here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_func not in _views:
            return None
        key = store.page_key(request)
        if key is None:
            return None
        request._catalogue_key = key
        entry, version = store.get(key)
        if entry is None:
            request._catalogue_version = version
            return None
        request._catalogue_hit = True
        if _is_new_visitor(request):
            # No session and no messages: the holes hold the same for everyone but
            # the CSRF token, which a new visitor always gets afresh.
            body = holes.filled_for_new_visitor(entry["new_visitor_html"], request)
        else:
            body = holes.filled_parts(entry["parts"], request)
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
        version = getattr(request, "_catalogue_version", None)
        if (
            getattr(request, "_catalogue_cacheable", False)
            and response.status_code == 200
            and version is not None
            and store.may_store(request, version)
            and holes.shareable(request, html)
        ):
            template = holes.emptied(html)
            store.put(
                key,
                {
                    "version": version,
                    "status": response.status_code,
                    "content_type": response["Content-Type"],
                    "html": template,
                    "new_visitor_html": holes.for_new_visitors(template),
                },
            )
        response.content = holes.shown(html)
        return response


def _is_new_visitor(request):
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )
