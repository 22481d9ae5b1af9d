"""Fixtures shared by every app's tests.

The demo catalogue is built once per test session, committed, and read by the tests;
each test runs in a transaction that is rolled back, so tests may add to it freely.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from products.tests import factories

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def require(condition, reason):
    """Skip a test whose service is missing; under CI=true fail instead."""
    if condition:
        return
    if CI:
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test database, with the demo catalogue, for every test that asks.

    pytest-django would set up only the databases that collected tests mark; the
    browser tests read the catalogue without a mark, so set up the default always.
    """
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=verbosity,
            interactive=False,
            aliases={"default"},
            serialized_aliases=set(),
        )
        call_command("load_demo_data", verbosity=0)
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            # Connections opened beside the test thread (the live server's, the
            # ORM inside Playwright's event loop) would block DROP DATABASE.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        teardown_databases(config, verbosity=verbosity)


@pytest.fixture
def wines(db):
    """Variants in every state a cart meets, at known prices and stock."""
    country = factories.country("Cartland")
    region = factories.region("Basket Valley", country)
    v = factories.variant
    red = factories.wine(
        region, "Cart Red", variants=[v("10.00", stock=10, sku="CART-RED")]
    )
    white = factories.wine(
        region,
        "Cart White",
        colour="white",
        variants=[
            v("25.50", stock=3, sku="CART-WHITE"),
            v("0.99", stock=50, active=False, sku="CART-OFF", label="Half"),
        ],
    )
    gone = factories.wine(
        region, "Cart Gone", variants=[v("40.00", stock=0, sku="CART-SOLD")]
    )
    hidden = factories.wine(
        region, "Cart Hidden", variants=[v("15.00", stock=9, sku="CART-HIDDEN")]
    )
    hidden.unpublish()
    by_sku = {
        variant.sku: variant
        for page in (red, white, gone, hidden)
        for variant in page.variants.all()
    }
    return {
        "red": by_sku["CART-RED"],
        "white": by_sku["CART-WHITE"],
        "inactive": by_sku["CART-OFF"],
        "sold_out": by_sku["CART-SOLD"],
        "unpublished": by_sku["CART-HIDDEN"],
    }


def shop_without_shipping(request):
    """Run a transactional test in a shop that has not set up shipping or tax
    (free delivery, nothing added: a fresh install's shop), rolled back after: the
    payment, cart and coupon tests check their own arithmetic, and the shipping
    and tax tests set their own zones and rates. Tests against committed data
    (the live server, threads) see the demo's rates."""
    if "db" not in request.fixturenames:
        return
    request.getfixturevalue("db")
    from shipping.models import ShippingZone, TaxRate

    ShippingZone.objects.all().delete()
    TaxRate.objects.all().delete()


@pytest.fixture
def page_cache(settings):
    """The catalogue cache as production runs it (off in the test settings): whole
    pages, and this process's copies of variants, shop settings and navigation."""
    from django.core.cache import cache

    import pagecache

    settings.CATALOGUE_CACHE_SECONDS = 600
    cache.clear()
    pagecache.forget()
    yield
    cache.clear()
    pagecache.forget()


@pytest.fixture
def pay_for(django_capture_on_commit_callbacks):
    """Buy ``[(variant, quantity), …]`` as a new shopper: cart, checkout, and, unless
    ``pay=False``, pay with 4242 on the emulator and deliver Stripe's events, with
    the work queued on commit (invoices, cache versions) run as a worker would."""
    from django.test import Client

    from checkout.tests.conftest import check_out, session_id_of
    from orders.models import Order
    from stripe_emulator import payments, webhooks

    def place(
        lines,
        email="ada@example.com",
        name="Ada Lovelace",
        coupon=None,
        pay=True,
        card="4242424242424242",
    ):
        shopper = Client()
        for variant, quantity in lines:
            shopper.post("/cart/add/", {"variant": variant.pk, "quantity": quantity})
        if coupon:
            shopper.post("/cart/coupon/", {"code": coupon})
        session_id = session_id_of(check_out(shopper, email=email, name=name))
        if pay:
            payments.pay(session_id, card)
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.deliver_pending(
                    transport=webhooks.django_client_transport(Client())
                )
        return Order.objects.get(stripe_session_id=session_id)

    return place


@pytest.fixture
def staff_client(db, django_user_model):
    """A client signed in as a new member of a group (Editors, Merchants)."""
    from django.contrib.auth.models import Group
    from django.test import Client

    def sign_in(group):
        user = django_user_model.objects.create_user(
            f"{group.lower()}-{django_user_model.objects.count()}",
            password="pw-1234567",
        )
        user.groups.add(Group.objects.get(name=group))
        client = Client()
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def postgres(db):
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://…",
    )


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    reachable = False
    if url:
        import redis

        try:
            reachable = redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError:
            reachable = False
    require(reachable, "needs Redis: set REDIS_URL=redis://… to a running server")
    return url


@pytest.fixture(scope="session")
def rabbitmq_url():
    """The RabbitMQ this machine runs (RABBITMQ_URL, default the local guest)."""
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    import kombu

    try:
        with kombu.Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
        reachable = True
    except Exception:
        reachable = False
    require(reachable, f"needs RabbitMQ at {url}: set RABBITMQ_URL")
    return url


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "needs Debian's Chromium (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def shop_server(django_db_setup, django_db_blocker):
    """One live server for every browser test, serving the committed demo catalogue.

    pytest-django's own live_server fixture would flush the database after each
    test; this one leaves the shared catalogue in place.
    """
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1:0")
        yield server
        server.stop()


@pytest.fixture
def db_reads(django_db_setup, django_db_blocker):
    """Database access outside a test transaction, for tests beside the live server.

    A transaction held open by the test would lock SQLite against the server's
    writes (image renditions, sessions); these tests only read.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """PostgreSQL in autocommit, for tests whose threads must see each other's writes.

    Nothing is rolled back: such a test deletes what it made.
    """
    with django_db_blocker.unblock():
        require(
            connection.vendor == "postgresql",
            "needs PostgreSQL for row locks under concurrency: set DATABASE_URL",
        )
        yield


@pytest.fixture
def celery_worker(redis_url, settings):
    """Start a real `celery worker` process on Redis, on a queue of its own, and
    send this process's tasks (the tests' and the live server's) to it.

    Call it with extra environment variables (and another broker or pool if need
    be); it returns the worker, whose ``log`` is the worker's output and
    ``process`` the Popen. Needs committed data: the worker is another process with
    its own database connection.
    """
    import subprocess
    import sys
    import time
    import types
    import uuid

    from cellar.celery import app as celery_app

    started = []
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url, conf.task_default_queue

    def use_broker(url):
        # The app keeps pooled connections to the first broker URL it saw.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        conf.broker_url = url

    def start(broker_url=None, pool="solo", **extra_env):
        broker_url = broker_url or redis_url
        # RabbitMQ is named by CELERY_BROKER_URL; Redis stays the cache either way
        broker_env = (
            {"CELERY_BROKER_URL": broker_url, "REDIS_URL": redis_url}
            if broker_url.startswith("amqp")
            else {"REDIS_URL": broker_url}
        )
        queue = f"cellar-test-{uuid.uuid4().hex[:8]}"
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
            f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cellar.settings.test",
            "DATABASE_URL": database_url,
            **broker_env,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
            **extra_env,
        }
        log = ARTIFACTS / f"worker-{queue}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "cellar", "worker"]
                + ["-l", "info", "--pool", pool, "--concurrency", "1"]
                + ["-Q", queue, "-n", f"{queue}@%h"]
                + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ARTIFACTS.parent,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        conf.task_always_eager = False
        use_broker(broker_url)
        conf.task_default_queue = queue
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.2)
        return types.SimpleNamespace(log=log, process=process, queue=queue)

    yield start
    conf.task_always_eager, _, conf.task_default_queue = saved
    use_broker(saved[1])
    for process in started:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser(chromium_path):
    # Playwright's sync API runs an event loop in this thread; Django's ORM would
    # otherwise refuse to run in the test alongside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def fill_checkout():
    """Fill the checkout form in a browser page as a shopper would."""

    def fill(page, email, name, address, city, postal_code, country, state=""):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Full name").fill(name)
        page.get_by_label("Address", exact=True).fill(address)
        page.get_by_label("City").fill(city)
        page.get_by_label("Postal code").fill(postal_code)
        page.get_by_label("Delivery country", exact=True).select_option(country)
        if state:
            page.get_by_label("State, province or region").select_option(state)
        # The delivery methods for the address arrive (and move what is below)
        page.locator(
            "[data-delivery-methods] input[name=shipping_method]"
        ).first.wait_for()
        page.get_by_label("I am of legal drinking age").check()

    return fill
