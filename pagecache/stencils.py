"""Stencils: HTML made once per catalogue version, with slots each request fills.

Pages the cache never holds whole (the cart, checkout) still show much that is the
same for every shopper while the catalogue stands still: the header and footer
around them, a wine's line in a cart but for its quantity. A stencil is such a part
rendered once per catalogue version with a ``slot`` wherever a request's own value
goes; ``fill`` puts the values in, one pass over the string, instead of a template
render per request.

A slot is a marker no page can otherwise hold (NUL bytes: PostgreSQL refuses them
in text and Django's form fields in input), so it goes through a template's
escaping untouched. A template must print a slot as it is (``{{ quantity }}``),
never through a filter, which would format the marker and not the value.
"""

import re

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .clock import seconds
from .memo import per_version

_SLOT = re.compile("\x00slot:(\\w+)\x00")
# Per kind of stencil, at most this many keys are kept (a cart line's is its wine):
# past it, the kind starts afresh.
LIMIT = 5_000


def slot(name):
    """The marker a stencil holds where ``fill`` puts the value named ``name``."""
    return mark_safe(f"\x00slot:{name}\x00")


class Stencil:
    """HTML with slots, split once where the slots are, so filling it is a join."""

    __slots__ = ("_parts",)

    def __init__(self, html):
        # literal, slot name, literal, slot name, …, literal
        self._parts = _SLOT.split(html)

    def fill(self, values):
        """The HTML with each slot's value, escaped unless marked safe. A slot
        without a value is an error: a marker must never reach a shopper."""
        parts = self._parts.copy()
        for index in range(1, len(parts), 2):
            parts[index] = conditional_escape(values[parts[index]])
        return SafeString("".join(parts))

    def slots(self):
        """The names of its slots, in order."""
        return self._parts[1::2]


def fill(html, values):
    """``Stencil(html).fill(values)``, for HTML filled once."""
    return Stencil(html).fill(values)


def kept(request, kind, key, render):
    """What ``render()`` makes for ``key`` (a ``Stencil``, or the HTML a caller
    fills in its own way), made once per catalogue version by this process (every
    time when the catalogue cache is off)."""
    if not seconds():
        return render()
    stencils = per_version(f"stencils:{kind}", request, dict)
    stencil = stencils.get(key)
    if stencil is None:
        if len(stencils) >= LIMIT:
            stencils.clear()
        stencil = stencils[key] = render()
    return stencil


def kept_many(request, kind, keys, render_many):
    """``{key: HTML}`` for ``keys``, each made once per catalogue version by this
    process: ``render_many(missing)`` answers ``{key: HTML}`` for the keys not yet
    made, in one go (one query for all of them); a key it leaves out is kept as
    ``None`` (no such thing) until the version moves on."""
    if not seconds():
        made = render_many(list(keys))
        return {key: made.get(key) for key in keys}
    stencils = per_version(f"stencils:{kind}", request, dict)
    # What this call found or made, held here: another thread may clear the shared
    # dict meanwhile (past LIMIT), and a card must not go missing from a page.
    found = {key: stencils[key] for key in keys if key in stencils}
    missing = [key for key in keys if key not in found]
    if missing:
        if len(stencils) + len(missing) > LIMIT:
            stencils.clear()
        made = render_many(missing)
        for key in missing:
            found[key] = stencils[key] = made.get(key)
    return {key: found[key] for key in keys}
