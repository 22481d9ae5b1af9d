"""Benchmark settings: production's, with the Stripe emulator put back.

`make bench` serves the shop the way production does (DEBUG off, whitenoise's
manifest storage, Redis cache and sessions) but must take payments without Stripe,
so this module satisfies production's key checks with placeholders and then
re-enables the emulator. It exists for `bench/run.py` only: never deploy with it.
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key-" + "x" * 40)
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_bench_placeholder")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_cellar_bench_only")
# Loopback HTTP, no TLS proxy in front.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")

from cellar.settings.production import *  # noqa: E402, F403
from cellar.settings.production import CACHES, INSTALLED_APPS, env  # noqa: E402

STRIPE_SECRET_KEY = ""
STRIPE_EMULATOR = True
INSTALLED_APPS.append("stripe_emulator")
# The harness delivers the emulator's events itself, in the webhook burst.
STRIPE_EMULATOR_AUTO_DELIVER = False

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
# Counts each request's SQL queries into a response header the harness reads.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]  # noqa: F405

# Runs never share cache keys or Celery queues with the shop or the test suite.
for alias in set(CACHES) & {"default", "sessions"}:
    CACHES[alias]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="cellar-bench")
CELERY_TASK_DEFAULT_QUEUE = env.str("BENCH_QUEUE", default="cellar-bench")
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")  # noqa: F405
# wrk's checkouts all come from 127.0.0.1: the abuse limit is not what is measured.
CHECKOUTS_PER_SESSION = CHECKOUTS_PER_ADDRESS = 10_000_000
