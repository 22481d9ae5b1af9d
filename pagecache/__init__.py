"""Pages served from the cache, with each visitor's own parts filled in.

A catalogue page (home, wines index, country, region, wine, search) looks the same
to every anonymous visitor except for a few *holes*: the cart badge, the messages
and the CSRF token. Its HTML is cached once per URL with those holes left as
markers, and every request fills them in for its own visitor, so nobody ever sees
another's cart. The hit path skips Wagtail's routing and the page's queries.

Every entry carries the catalogue's version (``clock``). The apps say what moves
it on: publishing, moving or deleting a page, editing a variant, a grape, an
image, the shop settings or a view restriction, and a sale that takes a wine's
stock into what pages show (products/stock.py). The next request then renders
afresh: a change shows at once in the process that made it, and within
CATALOGUE_VERSION_CHECK_SECONDS in the others.

This package knows Django only. What the apps give it:

- ``serve_cached(view, …)``: the views whose pages may be cached;
- ``cacheable(request)`` / ``not_canonical(request)``: from such a view, whether
  this response may be shared;
- ``register_hole(name, render, new_visitor)``: a per-visitor part;
- ``watch(*models, signals=…)`` and ``changed()``: what moves the version on;
- ``per_version`` and ``VersionedRows``: what a process may keep in memory until
  the version moves on;
- ``stencils``: parts of pages never cached whole (the cart) made once per
  version with slots each request fills, and ``holes.frame`` for the page around
  them.
"""

from . import clock, holes, memo, stencils, store
from .clock import VERSION_KEY, changed, current_version, watch
from .holes import hole, register_hole
from .memo import VersionedRows, per_version
from .middleware import serve_cached
from .store import (
    SHARED_PAGES_SESSION_KEY,
    cacheable,
    not_canonical,
    sees_shared_pages,
)

__all__ = [
    "SHARED_PAGES_SESSION_KEY",
    "VERSION_KEY",
    "VersionedRows",
    "cacheable",
    "changed",
    "current_version",
    "forget",
    "hole",
    "not_canonical",
    "per_version",
    "register_hole",
    "sees_shared_pages",
    "serve_cached",
    "stencils",
    "watch",
]


def forget():
    """Drop what this process keeps (tests that clear the shared cache call it)."""
    for module in (clock, holes, memo, store):
        module.forget()
