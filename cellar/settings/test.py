import atexit
import shutil
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, STORAGES, env

DEBUG = False
SECRET_KEY = "test-only-insecure-key"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if env.str("EMAIL_FILE_PATH", default=""):
    # A worker process's mail, written where the test that started it reads it.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")

_tmp = Path(tempfile.mkdtemp(prefix="cellar-test-"))
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=_tmp / "media")
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=_tmp / "private")
STATIC_ROOT = _tmp / "static"
STATIC_ROOT.mkdir()
SERVE_MEDIA = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so a live server thread and the tests share one database.
    DATABASES["default"]["TEST"] = {"NAME": str(_tmp / "test.sqlite3")}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "cellar-test",
    }
}
if env.str("REDIS_URL", default=""):
    CACHES["redis"] = {
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": env.str("REDIS_URL"),
        "KEY_PREFIX": "cellar-test",
    }
SESSION_ENGINE = "core.db_sessions"
WAGTAILADMIN_BASE_URL = "http://testserver"

# Tests queue nothing by default; the worker tests start a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
# Request threads of the live server must not keep connections open past the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# A cached page would outlive the test transaction it was rendered in; the cache's
# own tests turn it on.
CATALOGUE_CACHE_SECONDS = 0

# Tests deliver the Stripe emulator's events themselves: twice, late, out of order.
STRIPE_EMULATOR_AUTO_DELIVER = False
STORAGES["private"]["OPTIONS"]["location"] = PRIVATE_MEDIA_ROOT

# Every test checks out from 127.0.0.1 in one shared local cache; the limit's own
# tests set it low.
CHECKOUTS_PER_SESSION = CHECKOUTS_PER_ADDRESS = 100_000
