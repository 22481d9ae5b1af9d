"""Racing callers fulfil an order once (PostgreSQL, real threads, real row locks)."""

import json
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from checkout.models import StripeEvent
from orders.models import Customer, Invoice, Order, OrderStatusChange
from products.models import WineVariant
from products.tests import factories
from stripe_emulator import payments, webhooks

from .conftest import CONTACT, check_out, session_id_of


def run_concurrently(count, work):
    """Start `count` threads at one barrier; return their results in order."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.fixture
def paid_session(committed_db):
    """A committed order whose session is paid, the event not yet delivered."""
    country = factories.country("Raceland")
    region = factories.region("Photo Finish", country)
    wine = factories.wine(
        region, "Race Red", variants=[factories.variant("30.00", stock=5)]
    )
    variant = wine.variants.get()
    shopper = Client()
    shopper.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    session_id = session_id_of(check_out(shopper))
    payments.pay(session_id, "4242424242424242")
    mail.outbox = []
    yield shopper, Order.objects.get(stripe_session_id=session_id), variant
    StripeEvent.objects.all().delete()
    Invoice.objects.filter(
        order__in=Order.objects.filter(stripe_session_id=session_id)
    ).delete()
    Order.objects.filter(stripe_session_id=session_id).delete()
    Customer.objects.for_email(CONTACT["email"]).delete()
    country.delete()


def completed_event(order):
    """This order's event: committed tests elsewhere may leave other events behind."""
    return next(
        event
        for event in webhooks.pending_events(type="checkout.session.completed")
        if event.data["data"]["object"]["id"] == order.stripe_session_id
    )


def webhook_post(event):
    body = json.dumps(event.data)
    return Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )


def test_F4_ten_identical_webhooks_at_once_make_one_paid_transition(paid_session):
    shopper, order, variant = paid_session
    event = completed_event(order)

    responses = run_concurrently(10, lambda i: webhook_post(event))

    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["result"] for r in responses) == ["duplicate"] * 9 + [
        "processed"
    ]
    assert OrderStatusChange.objects.filter(order=order, to_status="paid").count() == 1
    assert WineVariant.objects.get(pk=variant.pk).stock == 3
    assert len(mail.outbox) == 1


def test_F2_F3_success_page_and_webhook_together_fulfil_once(paid_session):
    shopper, order, variant = paid_session
    event = completed_event(order)

    def call(index):
        if index == 0:
            return shopper.get(
                f"/checkout/success/?session_id={order.stripe_session_id}"
            )
        return webhook_post(event)

    responses = run_concurrently(2, call)

    assert [r.status_code for r in responses] == [302, 200]
    changes = OrderStatusChange.objects.filter(order=order)
    assert [(c.from_status, c.to_status) for c in changes] == [("pending", "paid")]
    assert WineVariant.objects.get(pk=variant.pk).stock == 3
    assert len(mail.outbox) == 1


@pytest.fixture
def paid_intent(committed_db):
    """A committed order paid on the shop's page, its events not yet delivered."""
    from checkout.stripe_api import client as stripe_client
    from home.models import PaymentPage, ShopSettings

    shop = ShopSettings.load()
    shop.payment_page = PaymentPage.ON_PAGE
    shop.save()
    country = factories.country("Intentland")
    region = factories.region("Photo Finish", country)
    wine = factories.wine(
        region, "Race Rosé", variants=[factories.variant("30.00", stock=5)]
    )
    variant = wine.variants.get()
    shopper = Client()
    shopper.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    response = check_out(shopper, payment_page="on_page")
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    order = Order.objects.get(token=token)
    intent = stripe_client().v1.payment_intents.confirm(
        order.stripe_payment_intent_id, params={"payment_method": "pm_card_visa"}
    )
    mail.outbox = []
    yield shopper, order, variant, intent
    shop.payment_page = PaymentPage.HOSTED
    shop.save()
    StripeEvent.objects.all().delete()
    Invoice.objects.filter(order=order).delete()
    Order.objects.filter(pk=order.pk).delete()
    Customer.objects.for_email(CONTACT["email"]).delete()
    country.delete()


def test_the_success_page_and_the_intents_webhook_together_pay_once(paid_intent):
    shopper, order, variant, intent = paid_intent
    event = next(
        event
        for event in webhooks.pending_events(type="payment_intent.succeeded")
        if event.data["data"]["object"]["id"] == intent.id
    )
    success = (
        f"/checkout/success/?payment_intent={intent.id}"
        f"&payment_intent_client_secret={intent.client_secret}"
        "&redirect_status=succeeded"
    )

    responses = run_concurrently(
        3, lambda i: shopper.get(success) if i == 0 else webhook_post(event)
    )

    assert [r.status_code for r in responses] == [302, 200, 200]
    assert sorted(r.json()["result"] for r in responses[1:]) == [
        "duplicate",
        "processed",
    ]
    changes = OrderStatusChange.objects.filter(order=order)
    assert [(c.from_status, c.to_status) for c in changes] == [("pending", "paid")]
    assert WineVariant.objects.get(pk=variant.pk).stock == 3
    assert len(mail.outbox) == 1
