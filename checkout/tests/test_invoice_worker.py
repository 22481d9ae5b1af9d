"""Invoices made by a real Celery worker on Redis, and numbered under concurrency.

Both need committed rows (another process, other threads): PostgreSQL, cleaned up.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from cellar.embedded import EmbeddedBeat
from orders.invoices import invoice_for, produce, record_failure
from orders.models import Invoice, InvoiceCounter, Order, OrderLine
from orders.status import OrderStatus
from orders.tasks import generate_invoice

from .test_concurrency import run_concurrently

BASE_DIR = Path(__file__).resolve().parents[2]


def make_paid_orders(count):
    orders = []
    for number in range(count):
        order = Order.objects.create(
            checkout_key=f"worker-test-{uuid.uuid4().hex}",
            status=OrderStatus.PAID,
            email=f"buyer{number}@example.com",
            name=f"Buyer {number}",
            address_line1="1 Test Street",
            city="Testville",
            postal_code="12345",
            country="US",
            currency="usd",
            subtotal=Decimal("30.00"),
            total=Decimal("30.00"),
            checkout_expires_at=timezone.now(),
            paid_at=timezone.now(),
        )
        OrderLine.objects.create(
            order=order,
            wine_name="Worker Red 2020",
            variant_label="75 cl bottle",
            sku=f"WRK-{number}",
            unit_price=Decimal("15.00"),
            quantity=2,
        )
        orders.append(order)
    return orders


@pytest.fixture
def paid_orders(committed_db):
    made = []

    def make(count):
        made.extend(make_paid_orders(count))
        return made[-count:]

    yield make
    Invoice.objects.filter(order__in=made).delete()
    Order.objects.filter(pk__in=[o.pk for o in made]).delete()


def test_twenty_concurrent_invoices_take_consecutive_numbers(paid_orders):
    orders = paid_orders(20)
    year = timezone.localdate().year
    counter, _ = InvoiceCounter.objects.get_or_create(year=year)
    start = counter.last_number

    invoices = run_concurrently(20, lambda index: invoice_for(orders[index].pk))

    assert sorted(invoice.sequence for invoice in invoices) == list(
        range(start + 1, start + 21)
    )
    assert len({invoice.number for invoice in invoices}) == 20
    assert InvoiceCounter.objects.get(year=year).last_number == start + 20


def test_two_workers_at_once_leave_one_invoice(paid_orders):
    [order] = paid_orders(1)

    def work(index):
        invoice, rendered = produce(invoice_for(order.pk).pk)
        return invoice.number, rendered

    results = run_concurrently(2, work)

    assert results[0][0] == results[1][0]
    assert sorted(rendered for _, rendered in results) == [False, True]
    invoice = Invoice.objects.get(order=order)
    assert invoice.status == Invoice.Status.READY
    assert invoice.attempts == 1


@pytest.fixture(params=["redis", "rabbitmq"])
def worker(request, committed_db, celery_worker):
    """A real worker on either broker the shop supports (CELERY_BROKER_URL)."""
    if request.param == "rabbitmq":
        return celery_worker(broker_url=request.getfixturevalue("rabbitmq_url")).log
    return celery_worker().log


def test_a_real_worker_produces_the_invoice(worker, paid_orders):
    [order] = paid_orders(1)

    result = generate_invoice.delay(order.pk)

    deadline = time.monotonic() + 60
    while not Invoice.objects.filter(order=order, emailed_at__isnull=False).exists():
        assert time.monotonic() < deadline, worker.read_text()
        time.sleep(0.3)
    invoice = Invoice.objects.get(order=order)
    assert invoice.status == Invoice.Status.READY
    assert invoice.pdf.open("rb").read(5) == b"%PDF-"
    assert f"Task checkout.tasks.generate_invoice[{result.id}] succeeded" in (
        worker.read_text()
    )


def test_the_embedded_beat_sweeps_up_an_invoice_whose_tries_all_failed(
    paid_orders, mailoutbox
):
    # Given a paid order whose invoice failed every in-process try
    [order] = paid_orders(1)
    Order.objects.filter(pk=order.pk).update(
        paid_at=timezone.now() - timedelta(minutes=10)
    )
    invoice = invoice_for(order.pk)
    record_failure(invoice.pk, OSError("No space left on device"))

    # When beat's schedule runs on a thread, as it does beside `make run`'s server
    beat = EmbeddedBeat(
        schedule={
            "sweep": {"task": "checkout.tasks.queue_missing_invoices", "schedule": 0.2}
        },
        first_run_after=0,
    ).start()
    try:
        deadline = time.monotonic() + 60
        while not Invoice.objects.filter(
            pk=invoice.pk, status=Invoice.Status.READY, emailed_at__isnull=False
        ).exists():
            assert time.monotonic() < deadline, Invoice.objects.get(pk=invoice.pk)
            time.sleep(0.1)
        time.sleep(0.5)  # more sweeps, which must find nothing left to do
    finally:
        beat.stop()

    # Then the invoice is made and emailed once, and the sweeps went on
    done = Invoice.objects.get(pk=invoice.pk)
    assert (done.number, done.attempts) == (invoice.number, 2)
    assert [message.to for message in mailoutbox] == [[order.email]]
    assert beat.runs["sweep"] >= 3
    assert not beat.thread.is_alive()


def test_the_embedded_beat_finds_every_scheduled_task_in_a_fresh_process():
    # A fresh interpreter, as `runserver` starts: no request has imported any app's
    # tasks module yet (this test process has imported them all).
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from cellar.celery import app\n"
        "from cellar.embedded import EmbeddedBeat\n"
        "EmbeddedBeat()\n"
        "tasks = [entry['task'] for entry in settings.CELERY_BEAT_SCHEDULE.values()]\n"
        "print(sorted(task for task in tasks if task not in app.tasks))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "cellar.settings.dev",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
