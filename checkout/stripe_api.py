"""The one place the shop gets a Stripe client: real Stripe, or the emulator."""

from functools import cache

import stripe
from django.conf import settings

# stripe-python retries connection errors, 409s and 5xx with the same idempotency
# key: https://docs.stripe.com/error-low-level#idempotency
MAX_NETWORK_RETRIES = 2


@cache
def _client(api_key, emulated):
    if emulated:
        from stripe_emulator.http_client import EmulatorHTTPClient

        return stripe.StripeClient(
            "sk_test_emulator",
            http_client=EmulatorHTTPClient(),
            max_network_retries=MAX_NETWORK_RETRIES,
        )
    return stripe.StripeClient(api_key, max_network_retries=MAX_NETWORK_RETRIES)


def client():
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_EMULATOR)


def livemode():
    """Whether the key in use is a live key; the emulator counts as test mode."""
    return not settings.STRIPE_EMULATOR and settings.STRIPE_SECRET_KEY.startswith(
        ("sk_live_", "rk_live_")
    )


def dashboard_url(kind, object_id):
    """A link to the object in Stripe's dashboard, in test or live mode by the key."""
    prefix = "" if livemode() else "test/"
    return f"https://dashboard.stripe.com/{prefix}{kind}/{object_id}"
