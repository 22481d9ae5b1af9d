"""The shop's page (base.html: header, messages, footer) around content a view
made, for pages the cache never holds whole (the cart).

Made once per catalogue version, title and site, with the content as a slot and
the header's holes (cart badge, messages) as markers, as a cached page keeps them;
each request fills in its own. Editors, who see Wagtail's user bar, get it
rendered afresh.
"""

from django.template.loader import render_to_string

from pagecache import holes, sees_shared_pages, stencils


def _render(request, title, content):
    return render_to_string(
        "frame.html", {"frame_title": title, "frame_content": content}, request
    )


def framed(request, title, content):
    """``content`` (safe HTML) in the shop's page titled ``title``."""
    if not sees_shared_pages(request):
        return _render(request, title, content)
    frame = stencils.kept(
        request,
        "frame",
        title,
        lambda: _frame(request, title),
    )
    if frame is None:
        return _render(request, title, content)
    return stencils.fill(holes.filled_parts(frame, request), {"content": content})


def _frame(request, title):
    """The page around a slot for the content, split at its holes once; None if
    it cannot be shared."""
    html = holes.frame(
        request, lambda: _render(request, title, stencils.slot("content"))
    )
    return None if html is None else holes.parts(html)
