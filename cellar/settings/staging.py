"""Staging: production's settings in every respect but one, Stripe is the emulator.

The several-hosts test (proof/tests/test_hosts.py) deploys with it: the shop runs
exactly as production does (DEBUG off, HTTPS behind a proxy, PostgreSQL, Redis, a
Celery worker, whitenoise's manifest storage) but takes no real money: payments go
to the in-process Stripe emulator, whose state lives in the shop's database, so every
web host sees the same payments. Never point real shoppers at it.

It never uses the environment's Stripe keys. Its webhook secret is its own, so an
event the emulator signs is refused by a production shop sharing the environment
(the same ``.env``, the same ``SITE_URL``).
"""

import os

# Production refuses to load without Stripe keys; staging ignores whatever is set.
for _name, _placeholder in (
    ("STRIPE_SECRET_KEY", "sk_test_staging_uses_the_emulator"),
    ("STRIPE_WEBHOOK_SECRET", "whsec_staging_placeholder"),
):
    os.environ[_name] = os.environ.get(_name) or _placeholder

from .production import *  # noqa: E402, F403
from .production import CONTENT_SECURITY_POLICY_RELAXED_PATHS, INSTALLED_APPS  # noqa: E402

STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = "whsec_cellar_staging_emulator_only"
STRIPE_PUBLISHABLE_KEY = "pk_test_emulator"
STRIPE_EMULATOR = True
INSTALLED_APPS.append("stripe_emulator")
# The emulated payment page stands in for Stripe's, with a policy of its own.
CONTENT_SECURITY_POLICY_RELAXED_PATHS = [
    *CONTENT_SECURITY_POLICY_RELAXED_PATHS,
    "/_stripe/",
]
