"""Fixed-window counters in the cache, taken atomically.

A read-then-write of a counter lets every request that reads before the first
write through (60 wrong coupon codes sent at once were 60 checks against a limit of
5). Here each attempt takes its slot with one atomic increment first, so at most
``limit`` attempts a window ever pass, however many arrive at once; an attempt that
should not count (a valid coupon code) gives its slot back.

django-ratelimit counts the same way but every call of a view: the coupon limit
counts only wrong codes, and checkout only attempts that would make an order.
"""

import contextlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass
class Slots:
    counts: list  # [(key, attempts in its window, this one included, its limit)]

    @property
    def allowed(self):
        return all(count <= limit for _, count, limit in self.counts)

    @property
    def retry_after(self):
        """Seconds until the fullest window ends (for Retry-After)."""
        now = time.time()
        resets = cache.get_many([f"{key}:reset" for key, _, _ in self.counts])
        return max((int(reset - now) + 1 for reset in resets.values()), default=1)

    def give_back(self):
        for key, _, _ in self.counts:
            with contextlib.suppress(ValueError):  # its window ended meanwhile
                cache.decr(key)


def take(limits, window):
    """Count one attempt in the window (``window`` seconds) of each key of
    ``limits``, a ``{key: most attempts a window}``.

    ``add`` opens a window (it does nothing if one is open) and ``incr`` is atomic
    in Redis and in the local cache. Should the window end between the two, the
    increment starts the key afresh without an expiry: the first count of a window
    (re)sets it.
    """
    now = time.time()
    counts = []
    for key, limit in limits.items():
        cache.add(key, 0, timeout=window)
        cache.add(f"{key}:reset", now + window, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=window)
            count = 1
        if count == 1:
            cache.touch(key, window)
        counts.append((key, count, limit))
    return Slots(counts)


def client_address(request):
    """The client's address: behind TRUSTED_PROXIES proxies (a load balancer, a
    TLS terminator), the one the outermost of them saw, from X-Forwarded-For;
    else REMOTE_ADDR. Only trusted hops are read: a client can write the header."""
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        hops = [
            hop.strip()
            for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if hop.strip()
        ]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def per_client(request, scope, per_address, per_session):
    """Limits for the client's address and, if it has one, its session."""
    limits = {f"{scope}:ip:{client_address(request)}": per_address}
    session_key = getattr(request, "session", None) and request.session.session_key
    if session_key:
        limits[f"{scope}:session:{session_key}"] = per_session
    return limits
