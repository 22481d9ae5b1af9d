"""Settings come from the environment; production refuses to start half-configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "DATABASE_ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DATABASE_NAME": str(settings.DATABASES["default"]["NAME"]),
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "SESSION_ENGINE": settings.SESSION_ENGINE,
    "SESSION_STORE": settings.CACHES.get(settings.SESSION_CACHE_ALIAS, {}).get(
        "LOCATION"
    ) if "db" not in settings.SESSION_ENGINE.rsplit(".", 1)[-1] else None,
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "SHOP_CURRENCY": settings.SHOP_CURRENCY,
    "STORAGES": {k: v["BACKEND"] for k, v in settings.STORAGES.items()},
    "PRIVATE_OPTIONS": settings.STORAGES["private"].get("OPTIONS", {}),
}, default=str))
"""
CLEAN = {
    "MEDIA_STORAGE_BUCKET": "",
    "PRIVATE_STORAGE_BUCKET": "",
    "SECRET_KEY": "",
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "SESSION_REDIS_URL": "",
    "STRIPE_SECRET_KEY": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "SHOP_CURRENCY": "",
}


def run_settings(module, **environment):
    return run_python(PRINT_SETTINGS, module, **environment)


def run_python(script, module, **environment):
    """``script`` in a fresh interpreter on ``module``'s settings, with only the
    environment given here (none of the CLEAN variables from this process)."""
    env = {key: value for key, value in os.environ.items() if key not in CLEAN}
    env.update(CLEAN)
    env.update(environment)
    env = {key: value for key, value in env.items() if value != ""}
    env["DJANGO_SETTINGS_MODULE"] = module
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings(
        "cellar.settings.production",
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
    )

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: SECRET_KEY is not set. Production settings refuse to "
        "start without it: export SECRET_KEY (a long random string) or put it in .env."
    ) in result.stderr


def test_production_refuses_to_start_without_stripe_keys():
    result = run_settings("cellar.settings.production", SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert (
        "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET not set. Production settings take "
        "payments through real Stripe only"
    ) in result.stderr


def test_production_starts_when_configured():
    result = run_settings(
        "cellar.settings.production",
        SECRET_KEY="s" * 50,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
        DATABASE_URL="postgres://shop:pw@db.internal:5432/cellar",
        REDIS_URL="redis://cache.internal:6379/1",
        SHOP_CURRENCY="EUR",
        MEDIA_STORAGE_BUCKET="cellar-media",
        PRIVATE_STORAGE_BUCKET="cellar-private",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "DATABASE_ENGINE": "django.db.backends.postgresql",
        "DATABASE_NAME": "cellar",
        "CACHE": "core.cache.RedisCache",
        "SESSION_ENGINE": "core.sessions",
        "SESSION_STORE": "redis://cache.internal:6379/1",
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
        "SHOP_CURRENCY": "eur",
        "STORAGES": {
            "default": "storages.backends.s3.S3Storage",
            "staticfiles": "whitenoise.storage.CompressedManifestStaticFilesStorage",
            "private": "storages.backends.s3.S3Storage",
        },
        "PRIVATE_OPTIONS": {
            "bucket_name": "cellar-private",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
        },
    }


def test_staging_never_signs_with_the_environments_stripe_secrets():
    """Staging's emulator signs its own events: with production's secrets in the
    environment (a shared .env), a production shop would otherwise take them."""
    script = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.STRIPE_EMULATOR, s.STRIPE_SECRET_KEY, s.STRIPE_WEBHOOK_SECRET, s.DEBUG, "
        "'stripe_emulator' in s.INSTALLED_APPS]))"
    )
    for keys in (
        {"STRIPE_SECRET_KEY": "sk_live_real", "STRIPE_WEBHOOK_SECRET": "whsec_real"},
        {},  # .env.example's empty keys
    ):
        result = run_python(
            script, "cellar.settings.staging", SECRET_KEY="s" * 50, **keys
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [
            True,
            "",
            "whsec_cellar_staging_emulator_only",
            False,
            True,
        ]


def test_sessions_can_live_on_a_redis_of_their_own():
    result = run_settings(
        "cellar.settings.production",
        SECRET_KEY="s" * 50,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
        REDIS_URL="redis://cache.internal:6379/1",
        SESSION_REDIS_URL="redis://sessions.internal:6379/0",
    )

    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["SESSION_ENGINE"] == "core.sessions"
    assert settings["SESSION_STORE"] == "redis://sessions.internal:6379/0"
    assert settings["CELERY_BROKER_URL"] == "redis://cache.internal:6379/1"


def test_development_defaults_need_nothing_installed():
    result = run_settings("cellar.settings.dev")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": True,
        "DATABASE_ENGINE": "django.db.backends.sqlite3",
        "DATABASE_NAME": str(BASE_DIR / "db.sqlite3"),
        "CACHE": "django.core.cache.backends.locmem.LocMemCache",
        "SESSION_ENGINE": "core.db_sessions",
        "SESSION_STORE": None,
        "CELERY_TASK_ALWAYS_EAGER": True,
        "CELERY_BROKER_URL": "memory://",
        "SHOP_CURRENCY": "usd",
        "STORAGES": {
            "default": "django.core.files.storage.FileSystemStorage",
            "staticfiles": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "private": "orders.storage.PrivateFileSystemStorage",
        },
        "PRIVATE_OPTIONS": {"location": str(BASE_DIR / "private")},
    }


@pytest.mark.django_db
def test_healthz_reports_database_and_eager_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_reaches_the_redis_broker(client, settings, redis_url):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "unreachable",
    }


def test_gunicorn_workers_freeze_what_they_loaded_at_start():
    """A full collection no longer walks Django's and Wagtail's objects: they are
    frozen once the worker has loaded the app and its URLs (gunicorn.conf.py)."""
    script = (
        "import gc, runpy, sys, django; django.setup();"
        "config = runpy.run_path('gunicorn.conf.py');"
        "print('checkout.views' in sys.modules, gc.get_freeze_count());"
        "config['post_worker_init'](None);"
        "print('checkout.views' in sys.modules, gc.get_freeze_count())"
    )
    result = run_python(script, "cellar.settings.test")
    assert result.returncode == 0, result.stderr
    before, after = (line.split() for line in result.stdout.splitlines())
    assert before == ["False", "0"]
    assert after[0] == "True"
    assert int(after[1]) > 100_000
