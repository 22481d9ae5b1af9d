"""stripe-python's HTTP client, answered in process by the emulator.

``stripe.StripeClient(key, http_client=EmulatorHTTPClient())`` runs the SDK's
real code path (form encoding, retries, idempotency keys, error classes) against
``api`` instead of the network. Requests run inside the caller's transaction.
"""

import hashlib
import json
from contextlib import nullcontext
from datetime import timedelta
from urllib.parse import urlsplit

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from . import api, faults, params, webhooks
from .errors import ErrorResponse, IdempotencyConflict, InvalidRequest, ServerFault
from .models import IdempotencyRecord
from .store import new_id

# https://docs.stripe.com/api/idempotent_requests: keys are pruned after 24 hours.
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


class EmulatorHTTPClient(stripe.HTTPClient):
    name = "stripe_emulator"

    def __init__(self, *, retry_delay=None, **kwargs):
        """``retry_delay`` replaces the SDK's back-off between retries (seconds)."""
        super().__init__(**kwargs)
        self.retry_delay = retry_delay

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        method = method.upper()
        parts = urlsplit(url)
        encoded = post_data if method == "POST" else parts.query
        fault = faults.take(parts.path)
        if fault == "connection_error":
            raise stripe.APIConnectionError(
                "Unexpected error communicating with Stripe. (Stripe emulator: "
                "injected connection error.)",
                should_retry=True,
            )
        if fault == "server_error":
            error = ServerFault("An unknown error occurred (Stripe emulator).")
            return _respond(error.status, error.body(), _headers(headers))
        if fault == "rate_limit":
            error = InvalidRequest(
                "Too many requests hit the API too quickly. We recommend an "
                "exponential backoff of your requests.",
                code="rate_limit",
                status=429,
            )
            return _respond(error.status, error.body(), _headers(headers))
        if fault == "lock_timeout":
            error = InvalidRequest(
                "This object cannot be accessed right now because another API "
                "request or Stripe process is currently accessing it. If you see "
                "this error intermittently, retry the request.",
                code="lock_timeout",
                status=429,
            )
            response_headers = _headers(headers)
            response_headers["Stripe-Should-Retry"] = "true"
            return _respond(error.status, error.body(), response_headers)
        response = handle(method, parts.path, encoded, headers)
        if fault == "timeout":
            raise stripe.APIConnectionError(
                "Request timed out. (Stripe emulator: the request ran and its "
                "response was lost.)",
                should_retry=True,
            )
        return response

    def close(self):
        pass

    def _sleep_time_seconds(self, num_retries):
        if self.retry_delay is None:
            return super()._sleep_time_seconds(num_retries)
        return self.retry_delay


def handle(method, path, encoded, headers):
    """One API request: ``(body, status, headers)`` as stripe-python expects."""
    headers = CaseInsensitiveDict(headers or {})
    response_headers = _headers(headers)
    key = headers.get("Idempotency-Key") if method == "POST" else None
    if key:
        response_headers["Idempotency-Key"] = key
    try:
        _authenticate(headers.get("Authorization", ""))
        handler, path_ids = api.route(method, path)
        decoded = params.decode(encoded)
        if key:
            replay = _replay(key, method, path, decoded)
            if replay is not None:
                response_headers["Idempotent-Replayed"] = "true"
                response_headers["Original-Request"] = replay.request_id
                return replay.body, replay.status, response_headers
        body = _execute(handler, decoded, path_ids, key, method, path, response_headers)
    except ErrorResponse as error:
        return _respond(error.status, error.body(), response_headers)
    return body, 200, response_headers


def _execute(handler, decoded, path_ids, key, method, path, response_headers):
    request_id = response_headers["Request-Id"]
    # A write is all or nothing, as at Stripe; a read needs no transaction (one that
    # expires a session takes its own).
    committed_error = None
    with transaction.atomic() if method != "GET" else nullcontext():
        with webhooks.api_request(request_id, key):
            try:
                body = json.dumps(handler(decoded, **path_ids), indent=2)
                status = 200
            except ErrorResponse as error:
                if not error.commits:
                    raise
                committed_error = error
                body, status = json.dumps(error.body(), indent=2), error.status
        if key:
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        key=key,
                        method=method,
                        path=path,
                        params_hash=_params_hash(decoded),
                        request_id=request_id,
                        status=status,
                        body=body,
                    )
            except IntegrityError:
                raise IdempotencyConflict(
                    "There is currently another in-progress request using this "
                    f"Idempotent Key (that probably means you submitted twice, and "
                    f"the other request is still going through): {key}. Please try "
                    "again later.",
                    status=409,
                ) from None
    if committed_error is not None:
        raise committed_error
    return body


def _replay(key, method, path, decoded):
    """The stored first response for ``key``, or None if this is its first use.

    Errors in validation are not stored: as with Stripe, a request that fails
    validation executes nothing, so a corrected retry with the same key runs. One
    that fails after it (a card declined) is stored, and the key replays it.
    """
    record = IdempotencyRecord.objects.filter(key=key).first()
    if record is None:
        return None
    if record.created < timezone.now() - IDEMPOTENCY_KEY_LIFETIME:
        record.delete()
        return None
    if (record.method, record.path) != (method, path):
        raise IdempotencyConflict(
            "Keys for idempotent requests can only be used for the same endpoint "
            f"they were first used for ('{record.method} {record.path}' vs "
            f"'{method} {path}'). Try using a key other than '{key}' if you meant "
            "to execute a different request."
        )
    if record.params_hash != _params_hash(decoded):
        raise IdempotencyConflict(
            "Keys for idempotent requests can only be used with the same parameters "
            f"they were first used with. Try using a key other than '{key}' if you "
            "meant to execute a different request."
        )
    return record


def _authenticate(authorization):
    scheme, _, api_key = authorization.partition(" ")
    api_key = api_key.strip()
    if scheme.lower() != "bearer" or not api_key:
        raise InvalidRequest(
            "You did not provide an API key. You need to provide your API key in "
            "the Authorization header, using Bearer auth (e.g. 'Authorization: "
            "Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
            "for details, or we can help at https://support.stripe.com/.",
            status=401,
        )
    if not api_key.startswith(TEST_KEY_PREFIXES):
        raise InvalidRequest(
            f"Invalid API Key provided: {api_key[:8]}{'*' * 12}{api_key[-4:]} "
            "(the Stripe emulator accepts test mode secret keys, sk_test_...)",
            status=401,
        )


def _params_hash(decoded):
    return hashlib.sha256(json.dumps(decoded, sort_keys=True).encode()).hexdigest()


def _headers(request_headers):
    request_headers = CaseInsensitiveDict(request_headers or {})
    return CaseInsensitiveDict(
        {
            "Content-Type": "application/json",
            "Request-Id": new_id("req", 14),
            "Stripe-Version": request_headers.get("Stripe-Version")
            or stripe.api_version,
        }
    )


def _respond(status, body, headers):
    return json.dumps(body, indent=2), status, headers
