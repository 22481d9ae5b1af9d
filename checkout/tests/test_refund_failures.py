"""A refund Stripe confirms and fails later (the card was closed: Stripe's test card
4000000000005126): what the shop recorded as refunded is taken back, whatever the
order of the refund's answer, charge.refunded, charge.refund.updated and
refund.failed, however often each comes; the merchant is asked to act and the
shopper is told, once."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from checkout import stripe_api
from checkout.models import StripeEvent
from orders.models import Order, OrderEmail
from orders.status import OrderStatus
from orders.tasks import queue_missing_invoices
from stripe_emulator import payments, webhooks
from stripe_emulator.errors import ErrorResponse
from stripe_emulator.models import EmulatedObject

from .test_admin_actions import refund_form

FAILING = "4000000000005126"
FAILURE_TYPES = ("charge.refund.updated", "refund.failed")


@pytest.fixture
def merchant(staff_client):
    return staff_client("Merchants")


@pytest.fixture
def hook(db):
    return webhooks.django_client_transport(Client())


@pytest.fixture
def paid_by_closing_card(wines, pay_for):
    order = pay_for([(wines["red"], 2)], card=FAILING)  # 20.00
    mail.outbox.clear()
    return order


def refund(merchant, order, amount=None, run=None):
    data = refund_form(merchant, order)
    if amount is not None:
        data["amount"] = amount
    with run(execute=True):
        return merchant.post(f"/admin/orders/refund/{order.pk}/", data)


def stripe_refunds(order):
    return list(
        EmulatedObject.objects.filter(
            type="refund", data__payment_intent=order.stripe_payment_intent_id
        ).values_list("id", flat=True)
    )


def emails(order):
    return list(
        OrderEmail.objects.filter(order=order)
        .order_by("pk")
        .values_list("kind", "detail")
    )


@pytest.mark.parametrize("delivery", ["created", "reversed"])
def test_a_full_refund_that_fails_later_makes_the_order_paid_again_once(
    merchant,
    hook,
    paid_by_closing_card,
    delivery,
    django_capture_on_commit_callbacks,
):
    order = paid_by_closing_card
    refund(merchant, order, run=django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    [refund_id] = stripe_refunds(order)

    payments.fail_refund(refund_id)
    failed = stripe_api.client().v1.refunds.retrieve(
        refund_id, params={"expand": ["charge"]}
    )
    assert (failed.status, failed.failure_reason) == (
        "failed",
        "expired_or_canceled_card",
    )
    assert (failed.charge.amount_refunded, failed.charge.refunded) == (0, False)
    # charge.refunded (its copy counts the refund) and both failure events, in
    # either order, each twice
    with django_capture_on_commit_callbacks(execute=True):
        for event in webhooks.deliver_pending(transport=hook, order=delivery):
            webhooks.deliver(event, transport=hook)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.amount_refunded == Decimal("0.00")
    assert order.refund_failed_at is not None
    assert order.needs_attention
    assert order.amount_at_stake == Decimal("20.00")
    assert order.attention_reason == (
        f"Stripe could not refund 20.00 USD (refund {refund_id}: "
        "expired_or_canceled_card); 0.00 is refunded now. Refund the shopper "
        "another way, or ask them for another card."
    )
    assert list(order.history.order_by("pk").values_list("from_status", "to_status"))[
        -2:
    ] == [("paid", "refunded"), ("refunded", "paid")]
    assert emails(order)[-2:] == [
        (OrderEmail.Kind.REFUNDED, "20.00"),
        (OrderEmail.Kind.REFUND_FAILED, "0.00"),
    ]
    failed = mail.outbox[-1]
    assert failed.subject == (
        f"A refund of your Cellar order {order.reference} did not go through"
    )
    assert "A refund of $20.00 for your order" in failed.body
    assert "Refunded so far: $0.00 of $20.00." in failed.body
    assert set(
        StripeEvent.objects.filter(type__in=FAILURE_TYPES).values_list(
            "status", flat=True
        )
    ) == {StripeEvent.Status.PROCESSED}
    page = Client().get(f"/orders/{order.token}/").content.decode()
    assert 'data-order-status="paid"' in page
    assert re.search(r'data-step="refund_failed">.*?did not go through', page, re.S)
    assert 'data-step="refunded"' not in page


def test_a_late_copy_of_charge_refunded_never_counts_a_failed_refund_again(
    merchant, hook, paid_by_closing_card, django_capture_on_commit_callbacks
):
    order = paid_by_closing_card
    refund(merchant, order, "5.00", run=django_capture_on_commit_callbacks)
    [refund_id] = stripe_refunds(order)
    payments.fail_refund(refund_id)

    # The failure first; the charge.refunded Stripe sent before it arrives last
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=hook, types=FAILURE_TYPES)
        webhooks.deliver_pending(transport=hook)

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", Decimal("0.00"))
    assert order.amount_at_stake == Decimal("5.00")

    # The merchant tries again: a new refund, told again, then failed again
    refund(merchant, order, "5.00", run=django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.amount_refunded == Decimal("5.00")
    second = next(r for r in stripe_refunds(order) if r != refund_id)
    payments.fail_refund(second)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=hook, order="reversed")

    order.refresh_from_db()
    assert order.amount_refunded == Decimal("0.00")
    assert order.amount_at_stake == Decimal("10.00")
    assert emails(order) == [
        (OrderEmail.Kind.PAID, ""),
        (OrderEmail.Kind.REFUNDED, "5.00"),
        (OrderEmail.Kind.REFUND_FAILED, "0.00"),
        (OrderEmail.Kind.REFUNDED, "5.00"),
        (OrderEmail.Kind.REFUND_FAILED, "0.00"),
    ]


def test_a_refund_made_and_failed_before_the_payment_reached_the_shop(
    hook, wines, pay_for, django_capture_on_commit_callbacks
):
    """Refunded from Stripe's dashboard, and failed, before any event came."""
    order = pay_for([(wines["red"], 1)], card=FAILING, pay=False)
    payments.pay(order.stripe_session_id, FAILING)
    session = stripe_api.client().v1.checkout.sessions.retrieve(order.stripe_session_id)
    made = stripe_api.client().v1.refunds.create(
        params={"payment_intent": session.payment_intent}
    )
    payments.fail_refund(made.id)

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=hook, order="reversed")

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", Decimal("0.00"))
    assert order.needs_attention
    assert f"Stripe could not refund 10.00 USD (refund {made.id}" in (
        order.attention_reason
    )
    assert not StripeEvent.objects.filter(status=StripeEvent.Status.DEFERRED).exists()


def test_a_failure_email_lost_with_its_task_is_sent_by_the_sweep_once(
    merchant, hook, paid_by_closing_card, django_capture_on_commit_callbacks
):
    order = paid_by_closing_card
    refund(merchant, order, run=django_capture_on_commit_callbacks)
    [refund_id] = stripe_refunds(order)
    payments.fail_refund(refund_id)
    webhooks.deliver_pending(transport=hook)  # its email task is lost (not run)
    Order.objects.filter(pk=order.pk).update(
        refund_failed_at=timezone.now() - timedelta(minutes=5)
    )

    queue_missing_invoices()
    queue_missing_invoices()

    assert [kind for kind, _ in emails(order)].count(OrderEmail.Kind.REFUND_FAILED) == 1


def test_only_a_refund_of_the_closing_card_fails(
    hook, wines, pay_for, django_capture_on_commit_callbacks
):
    order = pay_for([(wines["red"], 1)])
    made = stripe_api.client().v1.refunds.create(
        params={"payment_intent": order.stripe_payment_intent_id, "amount": 100}
    )
    with pytest.raises(ErrorResponse, match="only a refund of a payment with the test"):
        payments.fail_refund(made.id)
    assert stripe_api.client().v1.refunds.retrieve(made.id).status == "succeeded"


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "re_1", "status": "failed"},
        {
            "id": "re_1",
            "charge": "ch_1",
            "payment_intent": "pi_1",
            "status": "failed",
            "amount": "500",
        },
        {"id": "re_1", "charge": None, "payment_intent": "pi_1", "status": "failed"},
    ],
)
@pytest.mark.parametrize("event_type", FAILURE_TYPES)
def test_a_malformed_refund_failure_is_a_400_and_changes_nothing(db, obj, event_type):
    body = json.dumps({"id": "evt_bad", "type": event_type, "data": {"object": obj}})
    response = Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_refunding_again_after_a_failure_is_a_new_refund(
    merchant, hook, paid_by_closing_card, django_capture_on_commit_callbacks
):
    order = paid_by_closing_card
    refund(merchant, order, run=django_capture_on_commit_callbacks)
    [first] = stripe_refunds(order)
    payments.fail_refund(first)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=hook)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID

    # All that is left, again: Stripe is asked for a new refund, not the failed one
    refund(merchant, order, run=django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert len(stripe_refunds(order)) == 2
    assert (order.status, order.amount_refunded) == ("refunded", Decimal("20.00"))


def test_bottles_of_a_failed_refund_can_be_refunded_again(
    merchant, hook, paid_by_closing_card, django_capture_on_commit_callbacks
):
    order = paid_by_closing_card  # 2 × red
    [line] = order.lines.all()
    data = {**refund_form(merchant, order), f"line_{line.pk}": "2"}
    with django_capture_on_commit_callbacks(execute=True):
        merchant.post(f"/admin/orders/refund/{order.pk}/", data)
    [first] = stripe_refunds(order)
    payments.fail_refund(first)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=hook)

    form = merchant.get(f"/admin/orders/refund/{order.pk}/").context["form"]

    assert form.fields[f"line_{line.pk}"].max_value == 2
