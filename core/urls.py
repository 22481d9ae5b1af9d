"""URLs a page shows on every request, reversed once per process.

Reversing a URL name walks Django's resolver each time, some 20 µs; the cart page
and the header show the same few on every request. Each is kept per script prefix
and URLconf (a request's own, else ``ROOT_URLCONF``), so a shop mounted under a
prefix, or a request or test with a URLconf of its own, still gets its own.
"""

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

_urls = {}


def fixed_url(name):
    """``reverse(name)`` for a URL without arguments."""
    key = (name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    url = _urls.get(key)
    if url is None:
        url = _urls[key] = reverse(name)
    return url
