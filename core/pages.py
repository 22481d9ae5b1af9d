"""What Wagtail looks up afresh for every page it renders, kept per catalogue version.

Before a page's own work, Wagtail spends five queries on what is the same for every
page of a site: the request's Site (one), its root page (two: the page, then its
specific form) and the page's view restrictions (two: its ancestors' aliases, then
the restrictions). Sites, restrictions, publishing and moves all move the
catalogue's version on (home/apps.py watches them), so a process keeps these until
it does. A page the cache misses (after a publish, every page) then costs only its
own queries.
"""

from wagtail.models import Page, PageViewRestriction, Site

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
    """Finds the Site from this process's copy for the views that serve pages.

    It comes after the page cache's middleware: a cached page is answered before it
    (no Site needed), and a miss has loaded the session by then, so the catalogue's
    version this request uses is the one that came with it (core/sessions.py)."""

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


def _known_paths():
    """The paths of the pages with view restrictions, and of the aliases (whose
    subtrees take their sources' restrictions, which paths do not show)."""
    return (
        tuple(
            PageViewRestriction.objects.order_by().values_list("page__path", flat=True)
        ),
        tuple(
            Page.objects.filter(alias_of__isnull=False)
            .order_by()
            .values_list("path", flat=True)
        ),
    )


class KnownRestrictionsMixin:
    """A page model whose view restrictions are looked up in the paths this process
    knows: no query for a page none of whose ancestors (itself included) is
    restricted or an alias. A page under an alias, or an alias, asks Wagtail, which
    follows each alias to its source."""

    def get_view_restrictions(self):
        if self.path:
            restricted, aliases = per_version("view-paths", None, _known_paths)
            if not self.path.startswith(restricted + aliases):
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
