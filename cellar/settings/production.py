from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, STORAGES, env

DEBUG = False

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Production settings refuse to start without it: "
        "export SECRET_KEY (a long random string) or put it in .env."
    )
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
_missing = [
    name
    for name, value in (
        ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
    )
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} not set. Production settings take payments through "
        "real Stripe only; the Stripe emulator is for development and tests."
    )

STRIPE_EMULATOR = False
if "stripe_emulator" in INSTALLED_APPS:
    INSTALLED_APPS.remove("stripe_emulator")
CONTENT_SECURITY_POLICY_RELAXED_PATHS = ["/admin/"]

STORAGES["staticfiles"]["BACKEND"] = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# That proxy is the one REMOTE_ADDR names; rate limits read the client's address
# from the hop it appended to X-Forwarded-For.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The shop is HTTPS only (SECURE_SSL_REDIRECT): browsers may remember that for a year.
# HSTS_PRELOAD only allows submitting the domain to the preload list.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
