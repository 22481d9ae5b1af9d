"""Faults injected into the next API requests, for tests of the shop's error paths.

``server_error`` answers 500 and ``rate_limit`` 429 before the request runs;
``lock_timeout`` answers 429 with ``Stripe-Should-Retry: true``, as Stripe does
when another request holds the object; ``connection_error`` raises
``stripe.APIConnectionError`` as if Stripe were unreachable; ``timeout`` lets the
request run (state changes, its idempotency key is stored) and then loses the
response, raising ``stripe.APIConnectionError``.

stripe-python retries connection errors, timeouts, 5xx and responses marked
``Stripe-Should-Retry: true`` up to the client's ``max_network_retries``, with
the same idempotency key; a plain 429 it raises at once as ``RateLimitError``.
"""

import threading

KINDS = ("server_error", "connection_error", "rate_limit", "lock_timeout", "timeout")

_lock = threading.Lock()
_rules = []


def fail_next(times=1, kind="server_error", path_startswith=None):
    """Make the next ``times`` requests (to paths so starting) fail with ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if times < 1:
        raise ValueError("times must be at least 1")
    with _lock:
        _rules.append({"kind": kind, "times": times, "path": path_startswith})


def reset():
    with _lock:
        _rules.clear()


def pending():
    """The faults still to happen, as ``(kind, times, path_startswith)``."""
    with _lock:
        return [(rule["kind"], rule["times"], rule["path"]) for rule in _rules]


def take(path):
    """The fault this request meets, if any, counting it as used."""
    with _lock:
        for rule in _rules:
            if rule["path"] is None or path.startswith(rule["path"]):
                rule["times"] -= 1
                if rule["times"] == 0:
                    _rules.remove(rule)
                return rule["kind"]
    return None
