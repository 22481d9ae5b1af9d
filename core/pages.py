"""What Wagtail looks up afresh for every page it renders, kept per catalogue version.

Before a page's own work, Wagtail spends five queries on what is the same for every
page of a site: the request's Site (one), its root page (two: the page, then its
specific form) and the page's view restrictions (two: its ancestors' aliases, then
the restrictions). Sites, restrictions, publishing and moves all move the
catalogue's version on (home/apps.py watches them), so a process keeps these until
it does. A page the cache misses (after a publish, every page) then costs only its
own queries.
"""

from wagtail.models import PageViewRestriction, Site

from pagecache import per_version


def find_site(request):
    """Set ``request._wagtail_site`` (where ``Site.find_for_request`` looks first)
    to the request's Site, its root page loaded in the form routing uses."""
    if hasattr(request, "_wagtail_site"):
        return request._wagtail_site

    def find():
        site = Site.find_for_request(request)
        if site is not None:
            # Loaded once and kept: routing starts from it on every request.
            site.root_page.localized.specific  # noqa: B018
        return site

    # Wagtail tells sites apart by host name and port.
    request._wagtail_site = per_version(f"site:{request.get_port()}", request, find)
    return request._wagtail_site


class SiteMiddleware:
    """Finds the Site from this process's copy for the views that serve pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_func in _page_views:
            find_site(request)


_page_views = set()


def serves_pages(*views):
    """The view functions whose requests look up their Site (an app's ``ready``)."""
    _page_views.update(views)


def _restricted_paths():
    return tuple(
        PageViewRestriction.objects.order_by().values_list("page__path", flat=True)
    )


class KnownRestrictionsMixin:
    """A page model whose view restrictions are looked up in the paths this process
    knows to be restricted: no query for a page none of whose ancestors is.

    An alias takes its source's restrictions, which paths do not show, so an alias
    asks Wagtail (aliases of a tree are aliases all the way down)."""

    def get_view_restrictions(self):
        if self.alias_of_id is None and self.path:
            restricted = per_version("restricted-paths", None, _restricted_paths)
            if not any(self.path.startswith(path) for path in restricted):
                return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


def ancestors(page, from_depth=3):
    """``page``'s ancestors from ``from_depth`` down (3: below the home page), from
    the parents routing left on it (no query), else in one query."""
    found, node = [], page
    while node.depth > from_depth:
        node = getattr(node, "_cached_parent_obj", None)
        if node is None:
            return list(
                page.get_ancestors().filter(depth__gte=from_depth).order_by("path")
            )
        found.append(node)
    return found[::-1]
