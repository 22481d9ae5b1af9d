"""Holes: the parts of a cached page each visitor sees their own way.

A template wraps such a part in ``{% hole "name" %}…{% endhole %}`` (``{% load
pagecache %}``). The cached copy keeps only a marker where the part was, and each
request fills every marker in with that hole's renderer. The CSRF token's hole is
built in; apps register theirs (the cart badge, the messages) with
``register_hole`` when they are ready.
"""

import logging
import re

from django.utils.safestring import mark_safe

from .csrf import get_token

logger = logging.getLogger(__name__)
_HOLE = re.compile(r"<!--hole:(\w+)-->(.*?)<!--/hole:\1-->", re.S)
_MARKER = re.compile(r"<!--hole:(\w+)-->")
# What must only ever be inside a hole: a visitor's CSRF token.
_PRIVATE = re.compile(r"csrfmiddlewaretoken")
_CSRF_MARK = "<!--csrf-->"
_holes = {}
_new_visitor_parts = {}


def register_hole(name, render, new_visitor):
    """``render(request)``: the part as this request's visitor sees it;
    ``new_visitor()``: as a visitor without a session or messages sees it, the same
    for all of them (made once per process)."""
    _holes[name] = (render, new_visitor)
    _new_visitor_parts.pop(name, None)


def names():
    return sorted(_holes)


def hole(request, name, content):
    """Wrap a per-visitor part of a page so the cached copy leaves it out."""
    if getattr(request, "_catalogue_key", None) is None and not getattr(
        request, "_pagecache_frame", False
    ):
        return content
    return f"<!--hole:{name}-->{content}<!--/hole:{name}-->"


def frame(request, render):
    """``render()``, a page that is the same for every visitor but for its holes,
    kept with a marker for each (as a cached page is; ``filled_parts`` puts them
    in per request); None if it holds a visitor's CSRF token outside a hole."""
    request._pagecache_frame = True
    try:
        html = render()
    finally:
        request._pagecache_frame = False
    return emptied(html) if shareable(request, html) else None


def csrf(request):
    # The token is letters and digits only (Django's alphabet): nothing to escape.
    return mark_safe(
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{get_token(request)}">'
    )


register_hole("csrf", csrf, lambda: _CSRF_MARK)


def shown(html):
    """The page as this visitor gets it: their parts, without the wrapping."""
    return _HOLE.sub(lambda m: m[2], html)


def emptied(html):
    """The page as the cache keeps it: a marker for each hole."""
    return _HOLE.sub(lambda m: f"<!--hole:{m[1]}-->", html)


def parts(template):
    """The cached page split at its markers, once: literal, hole name, literal, …"""
    return _MARKER.split(template)


def filled_parts(split, request):
    """The page ``parts`` split, with this request's holes: a join, each hole
    rendered once."""
    split = split.copy()
    made = {}
    for index in range(1, len(split), 2):
        name = split[index]
        if name not in made:
            made[name] = _holes[name][0](request)
        split[index] = made[name]
    return "".join(split)


def for_new_visitors(template):
    """The cached page as every new visitor gets it but for the CSRF token, which
    ``filled_for_new_visitor`` puts in afresh for each."""

    def part(match):
        name = match[1]
        if name not in _new_visitor_parts:
            _new_visitor_parts[name] = _holes[name][1]()
        return _new_visitor_parts[name]

    return _MARKER.sub(part, template)


def filled_for_new_visitor(html, request):
    return html.replace(_CSRF_MARK, csrf(request))


def shareable(request, html):
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


def forget():
    _new_visitor_parts.clear()
