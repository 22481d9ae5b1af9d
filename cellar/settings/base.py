"""Settings shared by every environment, read from the environment (and `.env`)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "cellar",
    "demo",
    "pagecache",
    "home",
    "products",
    "coupons",
    "shipping",
    "cart",
    "orders",
    "checkout",
    "backoffice",
    "accounts",
    "allauth",
    "allauth.account",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django_countries",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.hostile.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "pagecache.middleware.CataloguePageCacheMiddleware",
    "core.pages.SiteMiddleware",
]

ROOT_URLCONF = "cellar.urls"
WSGI_APPLICATION = "cellar.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                # csrf_token, as Django's built-in processor, masked faster
                "pagecache.csrf.context",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "home.context_processors.shop",
                "cart.context_processors.cart",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves several writers at once (request threads, the
    # emulator's webhook thread, in-process tasks). WAL lets readers go on beside a
    # writer; a transaction takes the write lock when it begins (IMMEDIATE), so it
    # waits its turn for up to `timeout` seconds instead of failing with "database
    # is locked" when it first writes; row locks (select_for_update) are no-ops in
    # SQLite, and this whole-database lock is what stands in for them.
    # https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT", default=30),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis carries the Celery broker, the cache and the sessions. Without it the shop
# still runs: tasks run eagerly and the cache lives in process memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cellar"),
            "TIMEOUT": 300,
        },
        # Sessions (carts, logins) live in Redis alone: reading and writing one is a
        # round trip, where a database copy would cost a commit on every cart change.
        # Give this Redis persistence (appendonly) so a restart keeps them, and no
        # eviction; SESSION_REDIS_URL can put them on a Redis of their own.
        "sessions": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": env.str("SESSION_REDIS_URL", default=REDIS_URL),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cellar"),
        },
    }
    SESSION_ENGINE = "core.sessions"
    SESSION_CACHE_ALIAS = "sessions"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "cellar",
        }
    }
    SESSION_ENGINE = "core.db_sessions"

# The broker: RabbitMQ (amqp://…) or Redis, by default the REDIS_URL one. With
# neither, tasks run in the process that queues them (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
# Eager tasks behave like a worker's: a failure is recorded and retried, never raised
# into the request that queued it.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach the broker gives up quickly; the periodic sweep
# (queue_missing_invoices) queues the work again once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without a broker (the embedded default), the schedule runs on a thread beside
# `manage.py runserver` (cellar/embedded.py), first this many seconds after start.
EMBEDDED_BEAT_FIRST_RUN_SECONDS = env.float(
    "EMBEDDED_BEAT_FIRST_RUN_SECONDS", default=30
)
CELERY_BEAT_SCHEDULE = {
    "queue-missing-invoices": {
        "task": "checkout.tasks.queue_missing_invoices",
        "schedule": 5 * 60,
    },
    "reconcile-pending-orders": {
        "task": "checkout.tasks.reconcile_pending_orders",
        "schedule": 10 * 60,
    },
    # A PaymentIntent never expires: an on-page checkout ends when its hold does.
    "end-expired-checkouts": {
        "task": "checkout.tasks.end_expired_checkouts",
        "schedule": 60,
    },
    # Back-in-stock emails, once each, for wines for sale again.
    "send-stock-alerts": {
        "task": "cart.tasks.send_stock_alerts",
        "schedule": 10 * 60,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Django serves uploaded images itself only when asked (development, tests, a single
# box); in production a proxy or object storage serves MEDIA_URL.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)
# Invoices and other files no URL may serve directly.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Invoices: never under MEDIA_URL. With object storage, point this at a private
    # bucket (django-storages' S3Storage with default_acl="private", say).
    "private": {
        "BACKEND": "orders.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT},
    },
}
# Object storage (S3 or compatible, via django-storages) when configured: uploaded
# images in a public bucket, invoices in a private one (signed, expiring URLs only).
# Credentials come from the usual AWS_* variables or the instance's role.
if MEDIA_BUCKET := env.str("MEDIA_STORAGE_BUCKET", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": MEDIA_BUCKET, "querystring_auth": False},
    }
if PRIVATE_BUCKET := env.str("PRIVATE_STORAGE_BUCKET", default=""):
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PRIVATE_BUCKET,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
        },
    }

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# A mail server that accepts the connection and then hangs must not hold an
# invoice's lock (on SQLite, the whole database's) for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Cellar <shop@cellar.test>")

SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="usd").lower()
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# No Stripe key: the shop talks to the in-process Stripe emulator (stripe_emulator/),
# which signs its events with this development-only secret.
STRIPE_EMULATOR = not STRIPE_SECRET_KEY
if STRIPE_EMULATOR:
    INSTALLED_APPS.append("stripe_emulator")
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_cellar_emulator_dev_only"
    # What the emulator's Stripe.js stand-in is made with on the shop's page.
    STRIPE_PUBLISHABLE_KEY = STRIPE_PUBLISHABLE_KEY or "pk_test_emulator"

# Headers every environment sends, so tests and browsers run under them too. The shop
# loads nothing from elsewhere; its checkout form redirects to Stripe Checkout.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # Wagtail's preview views opt in to SAMEORIGIN themselves
# Neither the shop's script nor Wagtail's admin reads the CSRF cookie (both send the
# token from the page).
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", *env.list("CSP_IMG_HOSTS", default=[])],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'", "https://checkout.stripe.com"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
if MEDIA_BUCKET:
    CONTENT_SECURITY_POLICY["img-src"].append(
        f"https://{MEDIA_BUCKET}.s3.amazonaws.com"
    )
# The Wagtail admin prints inline scripts (InlinePanel, date pickers) and style
# attributes, shows uploads as blob: previews and frames its own preview.
CONTENT_SECURITY_POLICY_RELAXED = {
    **CONTENT_SECURITY_POLICY,
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": [*CONTENT_SECURITY_POLICY["img-src"], "blob:"],
    "frame-src": ["'self'"],
    "frame-ancestors": ["'self'"],
}
# The emulated payment page stands in for Stripe's, another origin with its own
# policy; its template carries its own styles.
CONTENT_SECURITY_POLICY_RELAXED_PATHS = ["/admin/"] + (
    ["/_stripe/"] if STRIPE_EMULATOR else []
)

# Checkouts that may make an order (and a Stripe Checkout Session) in a window of
# CHECKOUT_LIMIT_WINDOW seconds, per browser session and per address; one more
# answers 429 with Retry-After.
CHECKOUTS_PER_SESSION = env.int("CHECKOUTS_PER_SESSION", default=10)
CHECKOUTS_PER_ADDRESS = env.int("CHECKOUTS_PER_ADDRESS", default=30)
CHECKOUT_LIMIT_WINDOW = env.int("CHECKOUT_LIMIT_WINDOW", default=600)
# How many proxies (load balancer, TLS terminator) stand before the web processes:
# rate limits then key on the address the outermost saw (X-Forwarded-For), not on
# the proxy's own. 0: REMOTE_ADDR is the client's.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)

# Catalogue pages are cached whole, per URL, with each shopper's parts filled in
# per request (pagecache/); 0 turns the cache off.
CATALOGUE_CACHE_SECONDS = env.int("CATALOGUE_CACHE_SECONDS", default=600)
# false: no whole pages are cached (each is rendered afresh), while what every page
# shares (the site, the header's countries, wine cards) is still kept per version.
CATALOGUE_PAGE_CACHE = env.bool("CATALOGUE_PAGE_CACHE", default=True)
# Pages with a query (searches, filters) the cache stores per catalogue version in
# each CATALOGUE_CACHE_SECONDS; pages without one are as many as the catalogue has.
CATALOGUE_CACHE_QUERY_PAGES = env.int("CATALOGUE_CACHE_QUERY_PAGES", default=2000)
# How long a web process trusts the catalogue version it last read before asking
# Redis again: another process's publish shows within this time (its own at once).
CATALOGUE_VERSION_CHECK_SECONDS = env.float(
    "CATALOGUE_VERSION_CHECK_SECONDS", default=0.05
)

WAGTAIL_SITE_NAME = "Cellar"
# The admin would fetch Wagtail's release list from the browser; nothing is loaded
# from elsewhere at run time (and the CSP would refuse it).
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No avatar from gravatar.com: the admin loads nothing from elsewhere (and the CSP
# would block it, leaving a broken image).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "xlsx"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Wagtail runs its background tasks (search and reference indexes) through
        # django-tasks and logs every one at INFO.
        "django_tasks": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
        "wagtail": {"level": "WARNING"},
    },
}


# Shopper accounts (django-allauth: sign up, verification, sign in, reset, email
# and password changes, with its rate limits and no account enumeration). Staff
# sign in to the Wagtail admin with their own accounts; the two never mix.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Guest orders are claimed by verified emails only: verify before signing in.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Cellar: "
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# Failed sign-ins: 5 a minute then 20 an hour for one account and address, on the
# cache (Redis when there is one); allauth answers 429 beyond.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/m/ip,5/m/key,20/h/key",
    "signup": "20/h/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "account:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
