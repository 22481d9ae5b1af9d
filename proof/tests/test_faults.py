"""Faults survived for real: a worker process killed mid-render, Redis stopped while an
order is paid, a database connection dropped inside a webhook.

Each needs committed rows seen by other processes or threads (PostgreSQL) and cleans
up after itself. Redis here is a redis-server of the test's own, on a free port, so
stopping it disturbs nobody else's.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from checkout.models import StripeEvent
from checkout.tests.conftest import check_out, session_id_of
from conftest import require
from orders.models import Invoice, InvoiceCounter, Order, OrderLine, OrderStatusChange
from orders.status import OrderStatus
from orders.tasks import generate_invoice, queue_missing_invoices
from products.models import WineVariant
from products.tests import factories
from stripe_emulator import faults, payments, webhooks
from stripe_emulator.models import EmulatedObject

BASE_DIR = Path(__file__).resolve().parents[2]


def wait_until(condition, timeout, why):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, why()
        time.sleep(0.1)


def wait_for_invoice_mailed(order, log):
    wait_until(
        lambda: Invoice.objects.filter(
            order=order, status=Invoice.Status.READY, emailed_at__isnull=False
        ).exists(),
        120,
        log,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def other_connection():
    """A plain psycopg2 connection to the test database, outside Django."""
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "localhost",
        port=db["PORT"] or 5432,
    )
    conn.autocommit = True
    return conn


class RedisServer:
    """A redis-server process of our own that the test may stop and start."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cellar-redis-")
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, lambda: "redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        assert not self.answers()

    def answers(self):
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False


@pytest.fixture
def own_redis(committed_db):
    require(
        subprocess.run(["which", "redis-server"], capture_output=True).returncode == 0,
        "needs redis-server (apt-get install redis-server)",
    )
    server = RedisServer()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def make_paid_order(lines):
    order = Order.objects.create(
        checkout_key=f"fault-test-{uuid.uuid4().hex}",
        status=OrderStatus.PAID,
        email="kill@example.com",
        name="Kill Test",
        address_line1="1 Test Street",
        city="Testville",
        postal_code="12345",
        country="US",
        currency="usd",
        subtotal=Decimal("10.00") * lines,
        total=Decimal("10.00") * lines,
        checkout_expires_at=timezone.now(),
        paid_at=timezone.now(),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            wine_name=f"Fault Red {number}",
            variant_label="75 cl bottle",
            sku=f"FLT-{number}",
            unit_price=Decimal("10.00"),
            quantity=1,
        )
        for number in range(lines)
    )
    return order


@pytest.fixture
def cleanup(committed_db):
    """Orders (by id) and catalogue pages the test made, removed at the end."""
    made = {"orders": [], "pages": []}
    yield made
    orders = Order.objects.filter(pk__in=made["orders"])
    StripeEvent.objects.filter(
        event_id__in=[
            e.event_id
            for e in StripeEvent.objects.all()
            if e.payload["data"]["object"].get("id")
            in set(orders.values_list("stripe_session_id", flat=True))
        ]
    ).delete()
    Invoice.objects.filter(order__in=orders).delete()
    orders.delete()
    for page in made["pages"]:
        page.delete()


# The worker is killed while rendering an invoice.


def rendering(log):
    """Whether a worker is rendering a PDF: WeasyPrint logs its steps at INFO, and
    the render runs outside any transaction (so no lock shows it)."""
    text = log.read_text()
    return text.count("Step 1 - Fetching and parsing HTML") > text.count(
        "Step 7 - Adding PDF metadata"
    )


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_killed_while_rendering_runs_the_task_again_into_one_invoice(
    cleanup, celery_worker, broker, request
):
    # Given a paid order long enough that its PDF takes a while to render
    order = make_paid_order(lines=250)
    cleanup["orders"].append(order.pk)
    year = timezone.localdate().year
    InvoiceCounter.objects.get_or_create(year=year)
    start = InvoiceCounter.objects.get(year=year).last_number

    # (acks late, rejected when its worker is lost: requeued by either broker)
    broker_url = (
        request.getfixturevalue("rabbitmq_url") if broker == "rabbitmq" else None
    )
    worker = celery_worker(broker_url=broker_url, pool="prefork")
    [first_child] = children(worker.process.pid)
    generate_invoice.delay(order.pk)

    # When the process rendering it is killed (as the OOM killer would)
    wait_until(lambda: rendering(worker.log), 60, worker.log.read_text)
    number = Invoice.objects.get(order=order).number
    time.sleep(0.5)
    assert rendering(worker.log), "the render finished before it could be killed"
    os.kill(first_child, signal.SIGKILL)

    # Then the task runs again in a new process, and one invoice exists
    wait_for_invoice_mailed(order, worker.log.read_text)
    log = worker.log.read_text()

    assert "exited with 'signal 9 (SIGKILL)'" in log
    assert log.count("Task checkout.tasks.generate_invoice[") >= 2
    [invoice] = Invoice.objects.filter(order=order)
    assert invoice.number == number == f"INV-{year}-{start + 1:06d}"
    assert invoice.attempts == 1  # the killed attempt never stored a file
    assert InvoiceCounter.objects.get(year=year).last_number == start + 1
    with invoice.pdf.open("rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    stored = os.listdir(Path(invoice.pdf.path).parent)
    assert [name for name in stored if name.startswith(number)] == [f"{number}.pdf"]


def test_a_whole_worker_killed_mid_render_is_made_good_by_the_sweep(
    own_redis, cleanup, celery_worker
):
    # Given a worker rendering an invoice (its own Redis: the killed worker's
    # unacknowledged message stays there, out of everyone's way)
    order = make_paid_order(lines=250)
    cleanup["orders"].append(order.pk)
    worker = celery_worker(broker_url=own_redis.url)
    generate_invoice.delay(order.pk)
    wait_until(lambda: rendering(worker.log), 60, worker.log.read_text)

    # When the whole worker is killed, and nothing is left to requeue its task
    worker.process.kill()
    worker.process.wait(timeout=10)
    invoice = Invoice.objects.get(order=order)
    assert (invoice.status, bool(invoice.pdf)) == (Invoice.Status.PENDING, False)

    # Then the periodic sweep, on another worker, makes that invoice once
    Order.objects.filter(pk=order.pk).update(
        paid_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    second = celery_worker(broker_url=own_redis.url)
    queue_missing_invoices.apply_async(kwargs={"older_than_minutes": 2})
    wait_for_invoice_mailed(order, second.log.read_text)
    [again] = Invoice.objects.filter(order=order)
    assert (again.pk, again.number, again.attempts) == (
        invoice.pk,
        invoice.number,
        1,
    )


# Redis is stopped while an order is paid.


@pytest.fixture
def paid_session(cleanup):
    """A committed order paid on the emulator, its webhook not yet delivered."""
    country = factories.country("Faultland")
    region = factories.region("Broken Valley", country)
    wine = factories.wine(
        region, "Fault Red", variants=[factories.variant("30.00", stock=5)]
    )
    cleanup["pages"].append(country)
    variant = wine.variants.get()
    shopper = Client()
    shopper.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    session_id = session_id_of(check_out(shopper))
    order = Order.objects.get(stripe_session_id=session_id)
    cleanup["orders"].append(order.pk)
    payments.pay(session_id, "4242424242424242")
    event = next(
        e
        for e in webhooks.pending_events(type="checkout.session.completed")
        if e.data["data"]["object"]["id"] == session_id
    )
    mail.outbox = []
    return order, variant, event


def post_event(event):
    body = json.dumps(event.data)
    return Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )


def test_redis_down_when_paid_then_the_sweep_makes_the_invoice_once_it_is_back(
    own_redis, paid_session, celery_worker
):
    order, variant, event = paid_session

    # Given a worker on a Redis of the test's own, and that Redis stopped
    worker = celery_worker(broker_url=own_redis.url)
    own_redis.stop()

    # When Stripe's event arrives
    started = time.monotonic()
    response = post_event(event)
    took = time.monotonic() - started

    # Then the webhook answers 2xx at once and the order is paid, without invoice
    assert response.status_code == 200
    assert response.json() == {"received": True, "result": "processed"}
    assert took < 10
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert WineVariant.objects.get(pk=variant.pk).stock == 3
    assert not Invoice.objects.filter(order=order).exists()

    # When Redis is back and the periodic sweep runs on the worker
    own_redis.start()
    Order.objects.filter(pk=order.pk).update(
        paid_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    wait_until(
        lambda: _sweep_queued(),
        60,
        lambda: "could not queue the sweep: " + worker.log.read_text(),
    )

    # Then the invoice appears, made and emailed once
    wait_for_invoice_mailed(order, worker.log.read_text)
    log = worker.log.read_text()

    assert "Task checkout.tasks.queue_missing_invoices[" in log
    [invoice] = Invoice.objects.filter(order=order)
    assert invoice.attempts == 1
    assert OrderStatusChange.objects.filter(order=order, to_status="paid").count() == 1


def _sweep_queued():
    try:
        queue_missing_invoices.apply_async(kwargs={"older_than_minutes": 2})
    except Exception:  # noqa: BLE001 - the worker's broker may still be reconnecting
        return False
    return True


# The database connection drops inside a webhook.


def test_a_database_connection_dropped_inside_a_webhook_answers_5xx_and_the_retry_fulfils_once(  # noqa: E501
    paid_session,
):
    order, variant, event = paid_session
    locker = other_connection()
    killer = other_connection()
    answers = []

    # Given the order row locked elsewhere, so the webhook waits inside its
    # transaction, after it has written the event to the ledger
    locker.autocommit = False
    with locker.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM checkout_order WHERE id = %s FOR UPDATE", [order.pk]
        )

    def deliver():
        try:
            answers.append(post_event(event))
        finally:
            connection.close()

    thread = threading.Thread(target=deliver)
    thread.start()

    def waiting_backend():
        with killer.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%%checkout_order%%'"
            )
            row = cursor.fetchone()
        return row and row[0]

    wait_until(waiting_backend, 30, lambda: "the webhook never reached the order")

    # When its connection is cut (a database failover, a network drop)
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [waiting_backend()])
    thread.join(timeout=30)
    locker.rollback()
    locker.close()
    killer.close()

    # Then Stripe is told to retry, and nothing of the event was kept
    [answer] = answers
    assert answer.status_code == 503
    assert answer.json() == {"error": "Try again later."}
    assert not StripeEvent.objects.filter(event_id=event.data["id"]).exists()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert WineVariant.objects.get(pk=variant.pk).stock == 5

    # When Stripe retries, the order is fulfilled once
    transport = webhooks.django_client_transport(Client())
    assert webhooks.deliver(event, transport=transport) == [200]
    assert webhooks.deliver(event, transport=transport) == [200]

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert OrderStatusChange.objects.filter(order=order, to_status="paid").count() == 1
    assert WineVariant.objects.get(pk=variant.pk).stock == 3
    assert StripeEvent.objects.get(event_id=event.data["id"]).status == "processed"


# The emulator answers 500 when the session is created.


@pytest.mark.django_db
@pytest.mark.parametrize("failures, first_status", [(1, 303), (3, 503)])
def test_stripe_answering_500_then_200_makes_one_session_and_one_order(
    wines, failures, first_status
):
    # Given Stripe answering 500 to the next session creations (the SDK tries a
    # request three times: three 500s reach the shopper)
    faults.reset()
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    faults.fail_next(
        times=failures, kind="server_error", path_startswith="/v1/checkout/sessions"
    )

    # When the shopper checks out, and again if asked to try again
    first = check_out(shopper)
    assert first.status_code == first_status
    if first_status == 503:
        assert "We could not reach our payment provider" in first.content.decode()
        assert shopper.get("/cart/api/").json()["count"] == 2
    session_id = session_id_of(first if first_status == 303 else check_out(shopper))
    faults.reset()

    # Then Stripe holds one session and the shop one order, joined together
    sessions = EmulatedObject.objects.filter(type="checkout.session")
    assert list(sessions.values_list("id", flat=True)) == [session_id]
    [order] = Order.objects.all()
    assert (order.stripe_session_id, order.status) == (session_id, "pending")
    assert sessions.get().data["amount_total"] == 2000
