"""The event outbox: Stripe event objects, their signatures and their delivery.

Every state change records an event here. Development delivers each one to the
shop's webhook once the recording transaction commits, retrying with back-off;
tests switch that off (``STRIPE_EMULATOR_AUTO_DELIVER = False``) and deliver by
hand: twice, late, out of order, or never.
"""

import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from contextvars import ContextVar
from hashlib import sha256

import stripe
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import EmulatedEvent
from .store import new_id, now

logger = logging.getLogger(__name__)

RETRY_DELAYS = (1, 2, 4, 8, 16)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

_api_request = ContextVar("stripe_emulator_api_request", default=None)
_background = set()


@contextmanager
def api_request(request_id, idempotency_key):
    """Events recorded inside name the API request that caused them."""
    token = _api_request.set({"id": request_id, "idempotency_key": idempotency_key})
    try:
        yield
    finally:
        _api_request.reset(token)


def record_event(event_type, obj, *, previous_attributes=None):
    """Add an event carrying a snapshot of ``obj`` to the outbox."""
    data = {"object": json.loads(json.dumps(obj))}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": _api_request.get() or {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    row = EmulatedEvent.objects.create(id=event["id"], type=event_type, data=event)
    if getattr(settings, "STRIPE_EMULATOR_AUTO_DELIVER", True):
        transaction.on_commit(lambda: _deliver_in_background(row.id))
    return row


def sign(payload, timestamp=None, secret=None):
    """The ``Stripe-Signature`` header Stripe would send with ``payload``.

    https://docs.stripe.com/webhooks#verify-manually
    """
    timestamp = int(time.time() if timestamp is None else timestamp)
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    signed = f"{timestamp}.{payload}".encode()
    mac = hmac.new(secret.encode(), signed, sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def payload(event):
    """The request body of a delivery, pretty-printed like Stripe's."""
    return json.dumps(event.data, indent=2)


def webhook_url():
    return getattr(
        settings,
        "STRIPE_EMULATOR_WEBHOOK_URL",
        settings.SITE_URL + "/checkout/webhook/",
    )


def deliver(event_or_id, *, transport=None, times=1, timestamp=None, secret=None):
    """Send the event ``times`` times; the status of each attempt, in order.

    ``timestamp`` and ``secret`` sign it as if sent at another time or by another
    endpoint's secret, for tests of late or forged deliveries.
    """
    event = _event(event_or_id)
    transport = transport or http_transport(webhook_url())
    body = payload(event)
    statuses = []
    for _ in range(times):
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": sign(body, timestamp, secret),
        }
        status = int(transport(body, headers))
        _record_attempt(event.id, status)
        statuses.append(status)
    return statuses


def pending_events(type=None):
    """Events no endpoint has yet acknowledged with a 2xx, oldest first."""
    events = EmulatedEvent.objects.filter(delivered_count=0)
    if type is not None:
        events = events.filter(type=type)
    return list(events.order_by("created", "id"))


def deliver_pending(*, transport=None, order="created", types=None):
    """Send every pending event once, oldest first or ``order="reversed"``."""
    if order not in ("created", "reversed"):
        raise ValueError(f"order must be 'created' or 'reversed', not {order!r}")
    events = [
        event for event in pending_events() if types is None or event.type in types
    ]
    if order == "reversed":
        events.reverse()
    for event in events:
        deliver(event, transport=transport)
        event.refresh_from_db()
    return events


def http_transport(url, timeout=10):
    """POST to ``url``; an unreachable endpoint answers status 0."""

    def send(body, headers):
        request = urllib.request.Request(
            url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (OSError, ValueError) as error:
            logger.warning("Stripe emulator could not reach %s: %s", url, error)
            return 0

    return send


def django_client_transport(client, path="/checkout/webhook/"):
    """Deliver through a ``django.test.Client``, in process."""

    def send(body, headers):
        response = client.post(
            path,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
            HTTP_USER_AGENT=headers["User-Agent"],
        )
        return response.status_code

    return send


class RecordingTransport:
    """A transport for tests: keeps every delivery and answers ``status``.

    ``status`` may be a list, answered in turn (the last one repeats).
    """

    def __init__(self, status=200):
        self.statuses = list(status) if isinstance(status, (list, tuple)) else [status]
        self.calls = []

    def __call__(self, body, headers):
        self.calls.append((body, headers))
        index = min(len(self.calls), len(self.statuses)) - 1
        return self.statuses[index]

    @property
    def events(self):
        return [json.loads(body) for body, _ in self.calls]

    @property
    def types(self):
        return [event["type"] for event in self.events]


def _event(event_or_id):
    if isinstance(event_or_id, EmulatedEvent):
        return event_or_id
    if isinstance(event_or_id, dict):
        event_or_id = event_or_id["id"]
    return EmulatedEvent.objects.get(pk=event_or_id)


def _record_attempt(event_id, status):
    EmulatedEvent.objects.filter(pk=event_id).update(
        attempt_count=F("attempt_count") + 1,
        delivered_count=F("delivered_count") + (1 if 200 <= status < 300 else 0),
        last_attempt_at=timezone.now(),
        last_status=status,
    )


def deliver_with_retries(event_id, transport, *, delays=RETRY_DELAYS, sleep=time.sleep):
    """Stripe retries a failed delivery with back-off; so does the emulator.

    Returns the statuses of the attempts, the last one a 2xx unless it gave up.
    """
    statuses = []
    for delay in (0, *delays):
        if delay:
            sleep(delay)
        statuses += deliver(event_id, transport=transport)
        if 200 <= statuses[-1] < 300:
            return statuses
        logger.warning(
            "Webhook %s answered %s (attempt %d)", event_id, statuses[-1], len(statuses)
        )
    logger.error(
        "Gave up delivering webhook %s after %d attempts", event_id, len(statuses)
    )
    return statuses


def wait_for_deliveries(timeout=None):
    """Let background deliveries finish, for a command about to exit."""
    for thread in list(_background):
        thread.join(timeout)


def _deliver_in_background(event_id):
    thread = threading.Thread(
        target=_background_delivery,
        args=(event_id, webhook_url()),
        name=f"stripe-emulator-{event_id}",
        daemon=True,
    )
    _background.add(thread)
    thread.start()


def _background_delivery(event_id, url):
    close_old_connections()
    try:
        deliver_with_retries(event_id, http_transport(url))
    except Exception:
        logger.exception("Stripe emulator failed to deliver %s to %s", event_id, url)
    finally:
        connection.close()
        _background.discard(threading.current_thread())
