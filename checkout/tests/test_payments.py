"""The money path through the emulator: every way Stripe can answer, once each."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from checkout.models import StripeEvent
from checkout.sessions import (
    PaymentProviderError,
    checkout_session_params,
    checkout_session_url,
)
from checkout.stripe_api import client as stripe_client
from checkout.tasks import reconcile_pending_orders
from checkout.webhooks import receive_event
from orders.models import Invoice, Order, OrderStatusChange
from orders.status import OrderStatus
from products.models import WineVariant
from stripe_emulator import faults, payments, webhooks
from stripe_emulator.models import EmulatedEvent

from .conftest import another_event_about, check_out, session_id_of


@pytest.fixture
def stripe_side(db):
    """What Stripe sees: a client with no session, and the emulator's outbox."""
    faults.reset()
    yield webhooks.django_client_transport(Client())
    faults.reset()


def deliver_all(transport, **options):
    webhooks.deliver_pending(transport=transport, **options)


def statuses(order):
    return [
        (c.from_status, c.to_status, c.cause.split(" ")[0])
        for c in OrderStatusChange.objects.filter(order=order)
    ]


def queued_tasks(callbacks):
    """The on-commit callbacks that queue a Celery task (others, such as the
    catalogue cache's version bump, are not follow-up work)."""
    return [c for c in callbacks if c.__qualname__ == "enqueue.<locals>.publish"]


def stock(variant):
    return WineVariant.objects.get(pk=variant.pk).stock


def test_paid_by_webhook_decrements_stock_and_confirms_once(
    placed, wines, stripe_side, django_capture_on_commit_callbacks
):
    client, order, session_id = placed
    payments.pay(session_id, "4242 4242 4242 4242")

    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.stripe_payment_intent_id.startswith("pi_")
    assert statuses(order) == [("pending", "paid", "webhook")]
    assert (stock(wines["red"]), stock(wines["white"])) == (8, 2)
    assert [m.subject for m in mail.outbox] == [
        f"Your Cellar order {order.reference} is paid"
    ]
    assert mail.outbox[0].to == ["ada@example.com"]
    assert StripeEvent.objects.get().type == "checkout.session.completed"


def test_F1_a_duplicate_delivery_answers_200_and_changes_nothing(
    placed, wines, stripe_side, django_capture_on_commit_callbacks
):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    event = webhooks.pending_events()[0]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        webhooks.deliver(event, transport=stripe_side, times=2)

    body = webhooks.payload(event)
    duplicate = Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )
    assert duplicate.status_code == 200
    assert duplicate.json() == {"received": True, "result": "duplicate"}
    # One invoice task, which queued one email: the redelivery queued nothing.
    assert len(queued_tasks(callbacks)) == 2
    assert Invoice.objects.filter(order=order).count() == 1
    assert len(mail.outbox) == 1
    assert statuses(Order.objects.get(pk=order.pk)) == [("pending", "paid", "webhook")]
    assert stock(wines["red"]) == 8
    assert StripeEvent.objects.count() == 1


@pytest.mark.parametrize(
    "type",
    ["checkout.session.completed", "checkout.session.async_payment_succeeded"],
)
def test_a_new_event_about_a_paid_order_asks_stripe_nothing(
    placed, wines, stripe_side, django_capture_on_commit_callbacks, type
):
    """Paid is final for fulfilment: a second event about the order is answered
    from the database, so it costs no Stripe request (and succeeds while Stripe
    is unreachable)."""
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    event = webhooks.pending_events()[0]
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(stripe_side)
    faults.fail_next(times=3, kind="connection_error")

    response = another_event_about(event, type)

    assert response.status_code == 200
    assert response.json() == {"received": True, "result": "processed"}
    assert faults.pending() == [("connection_error", 3, None)]
    assert statuses(Order.objects.get(pk=order.pk)) == [("pending", "paid", "webhook")]
    assert stock(wines["red"]) == 8
    assert len(mail.outbox) == 1


def test_the_ledger_keeps_the_first_copy_of_an_event_in_one_statement_each(
    db, django_assert_num_queries
):
    event = {"id": "evt_ledger", "type": "charge.refunded", "data": {"object": {}}}

    with django_assert_num_queries(1):
        first = StripeEvent.objects.record(event)
    with django_assert_num_queries(1):
        again = StripeEvent.objects.record(dict(event, type="checkout.session.expired"))

    assert again is None
    # No failed insert: the transaction goes on (a unique violation would abort it).
    stored = StripeEvent.objects.get()
    assert (stored.pk, stored.event_id, stored.type, stored.payload) == (
        first.pk,
        "evt_ledger",
        "charge.refunded",
        event,
    )
    assert (stored.status, stored.error, stored.processed_at) == ("processed", "", None)
    assert stored.received_at == first.received_at
    assert first._state.adding is False


def test_the_success_page_fulfils_and_empties_the_cart(placed, wines, stripe_side):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")

    response = client.get(f"/checkout/success/?session_id={session_id}", follow=True)

    assert response.redirect_chain == [(f"/orders/{order.token}/", 302)]
    assert response.context["order"].status == OrderStatus.PAID
    assert "Paid — thank you!" in response.content.decode()
    assert statuses(order) == [("pending", "paid", "success")]
    assert client.get("/cart/api/").json()["count"] == 0
    # The webhook arrives afterwards: nothing more happens.
    deliver_all(stripe_side)
    assert statuses(order) == [("pending", "paid", "success")]
    assert stock(wines["red"]) == 8


def test_visiting_the_success_page_is_not_proof_of_payment(placed, stripe_side):
    client, order, session_id = placed

    response = client.get(f"/checkout/success/?session_id={session_id}", follow=True)

    assert response.context["order"].status == OrderStatus.PENDING
    assert "Waiting for payment." in response.content.decode()
    assert client.get("/cart/api/").json()["count"] == 3


@pytest.mark.parametrize(
    "query, status",
    [("", 400), ("?session_id=../../etc", 400), ("?session_id=cs_test_nope", 404)],
)
def test_success_page_rejects_bad_session_ids(client, db, query, status):
    assert client.get(f"/checkout/success/{query}").status_code == status


def test_a_declined_card_changes_nothing(placed, stripe_side):
    client, order, session_id = placed

    with pytest.raises(payments.CardDeclined, match="Your card was declined."):
        payments.pay(session_id, "4000000000000002")

    assert webhooks.pending_events() == []
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_completed_unpaid_then_async_succeeded(placed, wines, stripe_side):
    client, order, session_id = placed
    payments.pay(session_id, method="bank_debit")
    deliver_all(stripe_side)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    assert stock(wines["red"]) == 10

    payments.settle(session_id, succeeded=True)
    deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert [s[:2] for s in statuses(order)] == [
        ("pending", "processing"),
        ("processing", "paid"),
    ]
    assert stock(wines["red"]) == 8


def test_async_failed_fails_the_order_and_the_cart_can_try_again(
    placed, wines, stripe_side
):
    client, order, session_id = placed
    payments.pay(session_id, method="bank_debit")
    payments.settle(session_id, succeeded=False)
    deliver_all(stripe_side)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.FAILED
    assert client.get("/cart/api/").json()["count"] == 3
    retry = session_id_of(check_out(client))
    assert retry != session_id
    assert Order.objects.get(stripe_session_id=retry).status == OrderStatus.PENDING


def test_expired_session_cancels_the_order(placed, stripe_side):
    client, order, session_id = placed

    stripe_client().v1.checkout.sessions.expire(session_id)
    deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert statuses(order) == [("pending", "cancelled", "webhook")]


def test_refund_marks_the_order_refunded(
    placed, stripe_side, django_capture_on_commit_callbacks
):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    deliver_all(stripe_side)
    order.refresh_from_db()

    stripe_client().v1.refunds.create(
        params={"payment_intent": order.stripe_payment_intent_id}
    )
    deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == Decimal("45.50")
    assert [s[:2] for s in statuses(order)][-1] == ("paid", "refunded")


def test_amount_mismatch_flags_the_order_instead_of_fulfilling(
    placed, wines, stripe_side
):
    client, order, session_id = placed
    Order.objects.filter(pk=order.pk).update(total=Decimal("99.00"))
    payments.pay(session_id, "4242424242424242")

    deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.needs_attention is True
    assert order.attention_reason == (
        "Stripe charged 4550 usd (minor units) but the order total is 9900 usd; "
        "not fulfilled."
    )
    assert stock(wines["red"]) == 10


def test_oversold_order_is_paid_and_flagged(placed, wines, stripe_side):
    client, order, session_id = placed
    WineVariant.objects.filter(pk=wines["red"].pk).update(stock=1)
    payments.pay(session_id, "4242424242424242")

    deliver_all(stripe_side)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.needs_attention is True
    assert order.attention_reason == (
        "Oversold: too little stock for CART-RED ×2 (1 in stock)."
    )
    assert order.amount_at_stake == Decimal("10.00")  # one red paid for, not there
    assert (stock(wines["red"]), stock(wines["white"])) == (0, 2)


def test_stripe_errors_at_creation_keep_the_cart_and_a_retry_makes_one_session(
    shopper, stripe_side
):
    faults.fail_next(times=3, kind="connection_error")  # the SDK tries 3 times

    response = check_out(shopper)

    assert response.status_code == 503
    assert "We could not reach our payment provider" in response.content.decode()
    order = Order.objects.get()
    assert (order.status, order.stripe_session_id) == (OrderStatus.PENDING, None)
    assert shopper.get("/cart/api/").json()["count"] == 3

    session_id = session_id_of(check_out(shopper))
    assert Order.objects.get().stripe_session_id == session_id


@pytest.mark.parametrize("kind", ["server_error", "connection_error", "lock_timeout"])
def test_a_passing_stripe_failure_is_retried_into_one_session(
    shopper, stripe_side, kind
):
    faults.fail_next(times=1, kind=kind)

    session_id = session_id_of(check_out(shopper))

    order = Order.objects.get()
    assert order.stripe_session_id == session_id
    params_key = f"cellar-order-{order.token}-session"
    again = stripe_client().v1.checkout.sessions.create(
        params=checkout_session_params(
            order,
            "http://testserver/checkout/success/",
            "http://testserver/checkout/cancel/",
        ),
        options={"idempotency_key": params_key},
    )
    assert again.id == session_id


def test_a_rate_limit_shows_the_plain_message_and_a_retry_succeeds(
    shopper, stripe_side
):
    faults.fail_next(times=1, kind="rate_limit")  # not retried by the SDK

    assert check_out(shopper).status_code == 503
    session_id = session_id_of(check_out(shopper))
    assert Order.objects.get().stripe_session_id == session_id


def test_an_invalid_request_shows_the_plain_message(placed, stripe_side):
    client, order, session_id = placed
    Order.objects.filter(pk=order.pk).update(stripe_session_id=None)
    order.refresh_from_db()
    order.lines.update(quantity=0)

    with pytest.raises(PaymentProviderError):
        checkout_session_url(order, "http://x/s/", "http://x/c/")

    assert Order.objects.get(pk=order.pk).stripe_session_id is None


def test_reconcile_picks_up_a_missed_webhook(placed, wines, stripe_side):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")  # the event is never delivered

    changed = reconcile_pending_orders(older_than_minutes=0)

    assert changed == 1
    assert statuses(Order.objects.get(pk=order.pk)) == [
        ("pending", "paid", "reconcile")
    ]
    assert stock(wines["red"]) == 8
    assert reconcile_pending_orders(older_than_minutes=0) == 0


def test_F9_follow_up_tasks_run_only_after_commit(
    placed, stripe_side, django_capture_on_commit_callbacks
):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    event = webhooks.pending_events()[0]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        receive_event(json.loads(webhooks.payload(event)))
        assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
        assert Invoice.objects.count() == 0
        assert mail.outbox == []

    [queue_invoice] = queued_tasks(callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        queue_invoice()
    assert Invoice.objects.get().order == order
    assert len(mail.outbox) == 1


class TestWebhookSignatures:
    """(F7) Only Stripe's own signature over the exact body is accepted."""

    @pytest.fixture
    def event_body(self, placed, stripe_side):
        client, order, session_id = placed
        payments.pay(session_id, "4242424242424242")
        return json.dumps(webhooks.pending_events()[0].data)

    def post(self, body, signature):
        return Client().post(
            "/checkout/webhook/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    def assert_refused(self, response):
        assert response.status_code == 400
        assert StripeEvent.objects.count() == 0
        assert Order.objects.get().status == OrderStatus.PENDING

    def test_tampered_body(self, event_body):
        signature = webhooks.sign(event_body)
        tampered = event_body.replace('"amount_total": 4550', '"amount_total": 1')
        assert tampered != event_body
        self.assert_refused(self.post(tampered, signature))

    def test_wrong_secret(self, event_body):
        self.assert_refused(
            self.post(event_body, webhooks.sign(event_body, secret="whsec_wrong"))
        )

    def test_timestamp_older_than_the_tolerance(self, event_body):
        old = int(time.time()) - stripe.Webhook.DEFAULT_TOLERANCE - 10
        self.assert_refused(
            self.post(event_body, webhooks.sign(event_body, timestamp=old))
        )

    def test_several_v1_values_none_valid(self, event_body):
        t = int(time.time())
        self.assert_refused(self.post(event_body, f"t={t},v1={'0' * 64},v1={'f' * 64}"))

    def test_several_v1_values_one_valid_is_stripes_secret_rotation(self, event_body):
        good = webhooks.sign(event_body)
        t, v1 = good.split(",")
        response = self.post(event_body, f"{t},v1={'0' * 64},{v1}")
        assert response.status_code == 200

    def test_missing_header_and_malformed_body(self, event_body):
        self.assert_refused(self.post(event_body, ""))
        self.assert_refused(self.post("not json", webhooks.sign("not json")))
        self.assert_refused(self.post("[]", webhooks.sign("[]")))

    def test_unknown_event_types_answer_200_and_are_ignored(self, event_body):
        body = json.dumps(
            {"id": "evt_unknown", "type": "customer.created", "data": {"object": {}}}
        )
        response = self.post(body, webhooks.sign(body))
        assert response.status_code == 200
        assert StripeEvent.objects.get().status == "ignored"

    def test_the_secret_in_use_is_the_configured_one(self):
        assert settings.STRIPE_WEBHOOK_SECRET == "whsec_cellar_emulator_dev_only"


def refund_first_then_payment(stripe_side, session_id, amount=None):
    """Pay, refund at Stripe, then deliver the events newest first: Stripe does not
    promise their order."""
    payments.pay(session_id, "4242424242424242")
    intent = payments.checkout_session(session_id)["payment_intent"]
    params = {"payment_intent": intent} | ({"amount": amount} if amount else {})
    stripe_client().v1.refunds.create(params=params)
    deliver_all(stripe_side, order="reversed")
    return intent


def test_a_refund_delivered_before_the_payment_ends_refunded(placed, stripe_side):
    # Given a paid-then-refunded session whose charge.refunded comes first
    client, order, session_id = placed

    # When Stripe delivers the refund, then the payment, then both again
    refund_first_then_payment(stripe_side, session_id)
    for event in EmulatedEvent.objects.order_by("created", "id"):
        webhooks.deliver(event, transport=stripe_side)

    # Then the order ends as Stripe has it: refunded in full, flagged, once
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (
        OrderStatus.REFUNDED,
        Decimal("45.50"),
    )
    assert [s[:2] for s in statuses(order)] == [
        ("pending", "paid"),
        ("paid", "refunded"),
    ]
    assert order.needs_attention is True
    assert "Stripe refunded 45.50 USD before the payment reached the shop" in (
        order.attention_reason
    )
    refunds = StripeEvent.objects.filter(type="charge.refunded")
    assert list(refunds.values_list("status", flat=True)) == ["processed"]


def test_a_partial_refund_delivered_first_is_kept_on_the_paid_order(
    placed, stripe_side
):
    client, order, session_id = placed

    refund_first_then_payment(stripe_side, session_id, amount=1000)

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (
        OrderStatus.PAID,
        Decimal("10.00"),
    )
    assert order.needs_attention is True


def test_a_refund_that_raced_the_payment_is_applied_by_reconcile(placed, stripe_side):
    # Given a paid order, and a refund event the ledger kept as deferred because
    # it was handled while the payment was being recorded
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    deliver_all(stripe_side)
    order.refresh_from_db()
    stripe_client().v1.refunds.create(
        params={"payment_intent": order.stripe_payment_intent_id}
    )
    [event] = webhooks.pending_events(type="charge.refunded")
    StripeEvent.objects.record(event.data)
    StripeEvent.objects.filter(event_id=event.id).update(
        status=StripeEvent.Status.DEFERRED
    )

    # When the reconcile task runs
    reconcile_pending_orders()

    # Then the refund is on the order, flagged, and the event is processed
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (
        OrderStatus.REFUNDED,
        Decimal("45.50"),
    )
    assert (order.needs_attention, order.amount_at_stake) == (True, Decimal("45.50"))
    assert StripeEvent.objects.get(event_id=event.id).status == "processed"


def test_a_stranger_holding_the_session_id_sees_no_order_and_gets_no_prefill(
    placed, wines, stripe_side
):
    # Given a paid session whose id has leaked (referrer, log, shared screenshot)
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    url = f"/checkout/success/?session_id={session_id}"

    # When a stranger opens the success URL, then starts a checkout of their own
    stranger = Client()
    seen = stranger.get(url)
    stranger.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    form = stranger.get("/checkout/").content.decode()

    # Then they see a neutral page and an empty form; the buyer sees the order
    assert seen.status_code == 200
    html = seen.content.decode()
    for secret in (order.reference, order.token, order.email, order.name):
        assert secret not in html
        assert secret not in form
    assert stranger.get("/orders/").content.decode().count(order.reference) == 0
    mine = client.get(url)
    assert (mine.status_code, mine["Location"]) == (302, f"/orders/{order.token}/")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_a_refund_no_order_of_ours_claims_is_ignored_after_a_week(db):
    # Given a charge.refunded about another integration's payment, deferred
    event = {
        "id": "evt_foreign_refund",
        "type": "charge.refunded",
        "data": {
            "object": {
                "payment_intent": "pi_someone_else",
                "amount_refunded": 500,
                "refunded": True,
            }
        },
    }
    assert receive_event(event) == StripeEvent.Status.DEFERRED

    # When reconcile runs now, and again eight days later
    reconcile_pending_orders()
    kept = StripeEvent.objects.get(event_id="evt_foreign_refund").status
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        reconcile_pending_orders()

    # Then it waits a week for its order, then is ignored with the reason
    ledger = StripeEvent.objects.get(event_id="evt_foreign_refund")
    assert (kept, ledger.status) == ("deferred", "ignored")
    assert ledger.error == "No order of ours was paid with it within 7 days."
