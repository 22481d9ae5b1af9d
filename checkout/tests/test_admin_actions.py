"""What merchants do to an order from the admin: each action confirmed, permitted,
logged, and safe against Stripe's answers arriving in any order."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from wagtail.models import ModelLogEntry

from checkout.models import StripeEvent
from orders.models import Invoice, Order, OrderStatusChange
from orders.status import OrderStatus
from stripe_emulator import faults, webhooks
from stripe_emulator.models import EmulatedObject


@pytest.fixture
def merchant(staff_client):
    return staff_client("Merchants")


@pytest.fixture
def paid(buy):
    order = buy(email="ada@example.com", name="Ada Lovelace")
    mail.outbox.clear()
    return order


@pytest.fixture
def stripe_webhook(db):
    faults.reset()
    yield webhooks.django_client_transport(Client())
    faults.reset()


def refunds_in_stripe(order):
    return EmulatedObject.objects.filter(
        type="refund", data__payment_intent=order.stripe_payment_intent_id
    ).count()


def refunded_changes(order):
    return list(
        OrderStatusChange.objects.filter(order=order, to_status=OrderStatus.REFUNDED)
        .order_by("pk")
        .values_list("cause", flat=True)
    )


def log_entries(order, action):
    return list(
        ModelLogEntry.objects.filter(object_id=str(order.pk), action=action)
        .order_by("pk")
        .values_list("data", flat=True)
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_each_action_asks_for_confirmation_first(merchant, paid):
    for action in ("refund", "resend_invoice", "regenerate_invoice", "ship"):
        response = merchant.get(f"/admin/orders/{action}/{paid.pk}/")

        assert response.status_code == 200
        assert 'method="post"' in response.content.decode()
    paid.refresh_from_db()
    assert (paid.status, paid.shipped_at, len(mail.outbox)) == ("paid", None, 0)


def test_refund_then_the_webhook_after_it_then_twice(merchant, paid, stripe_webhook):
    # When the merchant confirms the refund
    response = merchant.post(f"/admin/orders/refund/{paid.pk}/", follow=True)

    # Then Stripe's answer refunds the order at once
    assert messages_of(response) == [f"Order {paid.reference} is refunded."]
    order = Order.objects.get(pk=paid.pk)
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == Decimal("10.00")
    assert order.stripe_refund_id.startswith("re_")
    username = response.context["request"].user.get_username()
    assert refunded_changes(order) == [f"refund by {username}"]
    assert log_entries(order, "cellar.order.refund") == [
        {
            "refund": order.stripe_refund_id,
            "key": f"cellar-order-{order.token}-refund",
            "status": "succeeded",
            "amount": "10.00",
        }
    ]

    # When charge.refunded arrives after the answer, and then again
    [event] = webhooks.pending_events(type="charge.refunded")
    webhooks.deliver(event, transport=stripe_webhook, times=2)

    # Then nothing more happens: one refund, refunded once
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert refunded_changes(order) == [f"refund by {username}"]
    assert refunds_in_stripe(order) == 1
    assert StripeEvent.objects.filter(type="charge.refunded").count() == 1

    # And a second click is refused without asking Stripe
    again = merchant.post(f"/admin/orders/refund/{paid.pk}/", follow=True)
    assert messages_of(again) == [
        f"Only a paid order can be refunded; {paid.reference} is refunded."
    ]
    assert refunds_in_stripe(order) == 1
    assert len(log_entries(order, "cellar.order.refund")) == 1

    # And the order's page shows the refund, its cause and who did it
    html = merchant.get(f"/admin/orders/inspect/{paid.pk}/").content.decode()
    assert f"Order {paid.reference} · Refunded" in html
    assert f"<dd>{order.stripe_refund_id}</dd>" in html
    assert '<td colspan="5">Refunded</td><td>10.00</td>' in html
    assert f"<td>refund by {username}</td>" in html
    assert f"<td>{username}</td><td>Refunded through Stripe</td>" in html
    assert f"/admin/orders/refund/{paid.pk}/" not in html


def test_the_webhook_before_the_answer(merchant, paid, stripe_webhook):
    # Given Stripe refunds but every answer to us is lost (the SDK retries twice)
    faults.fail_next(times=3, kind="timeout", path_startswith="/v1/refunds")

    response = merchant.post(f"/admin/orders/refund/{paid.pk}/", follow=True)

    assert messages_of(response)[0].startswith("Stripe did not answer")
    order = Order.objects.get(pk=paid.pk)
    assert order.status == OrderStatus.PAID
    assert refunds_in_stripe(order) == 1

    # When charge.refunded arrives first (twice, as Stripe may)
    [event] = webhooks.pending_events(type="charge.refunded")
    webhooks.deliver(event, transport=stripe_webhook, times=2)

    # Then the webhook refunds the order, once
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == Decimal("10.00")
    assert refunded_changes(order) == [f"webhook {event.id}"]

    # And the merchant's retry finds it done: still one refund in Stripe
    merchant.post(f"/admin/orders/refund/{paid.pk}/")
    assert refunds_in_stripe(order) == 1
    assert refunded_changes(order) == [f"webhook {event.id}"]
    [attempt] = log_entries(order, "cellar.order.refund")
    assert attempt["status"] == "no answer from Stripe"


def test_a_retry_after_a_lost_answer_reaches_the_same_refund(
    merchant, paid, stripe_webhook
):
    faults.fail_next(times=3, kind="timeout", path_startswith="/v1/refunds")
    merchant.post(f"/admin/orders/refund/{paid.pk}/")

    merchant.post(f"/admin/orders/refund/{paid.pk}/")
    webhooks.deliver_pending(transport=stripe_webhook)

    order = Order.objects.get(pk=paid.pk)
    assert order.status == OrderStatus.REFUNDED
    assert refunds_in_stripe(order) == 1
    assert len(refunded_changes(order)) == 1
    assert [entry["status"] for entry in log_entries(order, "cellar.order.refund")] == [
        "no answer from Stripe",
        "succeeded",
    ]


def test_an_unpaid_order_cannot_be_refunded(merchant, buy):
    pending = buy(pay=False)

    response = merchant.post(f"/admin/orders/refund/{pending.pk}/", follow=True)

    assert messages_of(response) == [
        f"Only a paid order can be refunded; {pending.reference} is pending payment."
    ]
    assert Order.objects.get(pk=pending.pk).status == OrderStatus.PENDING


def test_resend_invoice_emails_the_pdf_again(
    merchant, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(f"/admin/orders/resend_invoice/{paid.pk}/")

    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == f"Your Cellar order {paid.reference} is paid"
    assert [name for name, _, _ in email.attachments] == [paid.invoice.filename]
    assert list(paid.emails.values_list("kind", flat=True)) == ["paid", "paid"]
    assert log_entries(paid, "cellar.order.resend_invoice") == [
        {"to": "ada@example.com"}
    ]


def test_regenerate_invoice_renders_the_same_number_again(
    merchant, paid, django_capture_on_commit_callbacks
):
    before = Invoice.objects.get(order=paid)

    with django_capture_on_commit_callbacks(execute=True):
        merchant.post(f"/admin/orders/regenerate_invoice/{paid.pk}/")

    after = Invoice.objects.get(order=paid)
    assert (after.number, after.status) == (before.number, Invoice.Status.READY)
    assert after.attempts == before.attempts + 1
    assert after.pdf.name == before.pdf.name
    assert len(mail.outbox) == 0
    assert log_entries(paid, "cellar.order.regenerate_invoice") == [
        {"invoice": before.number}
    ]


def test_mark_shipped_tells_the_shopper_once(
    merchant, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(
            f"/admin/orders/ship/{paid.pk}/", {"tracking_number": " 1Z999AA1 "}
        )
        again = merchant.post(f"/admin/orders/ship/{paid.pk}/", follow=True)

    assert response.status_code == 302
    order = Order.objects.get(pk=paid.pk)
    assert order.shipped_at is not None
    assert order.tracking_number == "1Z999AA1"
    [email] = mail.outbox
    assert email.subject == f"Your Cellar order {paid.reference} is on its way"
    assert "Tracking number: 1Z999AA1" in email.body
    assert messages_of(again) == [
        f"Order {paid.reference} is marked shipped; the shopper is told.",
        f"{paid.reference} was already marked shipped.",
    ]
    assert log_entries(order, "cellar.order.ship") == [
        {"carrier": "", "tracking_number": "1Z999AA1"}
    ]


def test_a_tracking_number_too_long_is_refused(merchant, paid):
    response = merchant.post(
        f"/admin/orders/ship/{paid.pk}/", {"tracking_number": "X" * 101}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "tracking_number": [
            "Ensure this value has at most 100 characters (it has 101)."
        ]
    }
    assert Order.objects.get(pk=paid.pk).shipped_at is None


def test_clear_attention_needs_a_note_and_keeps_the_reason_in_the_log(merchant, paid):
    Order.objects.filter(pk=paid.pk).update(
        needs_attention=True,
        attention_reason="Oversold: CART-RED ×1.",
        amount_at_stake="10.00",
    )
    url = f"/admin/orders/clear_attention/{paid.pk}/"

    without_note = merchant.post(url, {"note": ""})
    with_note = merchant.post(url, {"note": "Restocked from the back room."})

    assert without_note.status_code == 200
    assert without_note.context["form"].errors == {"note": ["This field is required."]}
    assert with_note.status_code == 302
    order = Order.objects.get(pk=paid.pk)
    assert (order.needs_attention, order.attention_reason) == (False, "")
    assert order.amount_at_stake == 0
    assert log_entries(order, "cellar.order.clear_attention") == [
        {
            "reason": "Oversold: CART-RED ×1.",
            "at_stake": "10.00",
            "note": "Restocked from the back room.",
        }
    ]
    inspect = merchant.get(f"/admin/orders/inspect/{paid.pk}/").content.decode()
    assert "Restocked from the back room." in inspect


def test_replaying_an_event_changes_nothing_twice(merchant, paid):
    event = StripeEvent.objects.get(type="checkout.session.completed")

    response = merchant.post(f"/admin/stripe-events/replay/{event.pk}/", follow=True)

    assert messages_of(response) == [f"{event.event_id} replayed: processed."]
    paid.refresh_from_db()
    assert paid.status == OrderStatus.PAID
    assert paid.history.count() == 1
    assert log_entries(event, "cellar.stripe_event.replay") == [{"status": "processed"}]


def refund_form(merchant, order):
    """The refund form as the merchant opens it: its own request id."""
    page = merchant.get(f"/admin/orders/refund/{order.pk}/")
    return {"request_id": page.context["form"].initial["request_id"]}


def test_a_partial_refund_then_the_rest_each_told_once_whatever_comes_first(
    merchant, stripe_webhook, buy, django_capture_on_commit_callbacks
):
    paid = buy(lines=(("red", 2),))  # 20.00
    mail.outbox.clear()
    first = refund_form(merchant, paid)

    # A broken bottle: 7.50 back, clicked twice with the same form
    with django_capture_on_commit_callbacks(execute=True):
        done = merchant.post(
            f"/admin/orders/refund/{paid.pk}/", {**first, "amount": "7.50"}, follow=True
        )
        merchant.post(f"/admin/orders/refund/{paid.pk}/", {**first, "amount": "7.50"})
        # Stripe's charge.refunded after the answer, twice
        [event] = webhooks.pending_events(type="charge.refunded")
        webhooks.deliver(event, transport=stripe_webhook, times=2)

    order = Order.objects.get(pk=paid.pk)
    assert messages_of(done) == [f"7.50 USD of {paid.reference} is refunded so far."]
    assert (order.status, order.amount_refunded) == ("paid", Decimal("7.50"))
    assert refunds_in_stripe(order) == 1
    [email] = mail.outbox
    assert email.subject == f"Part of your Cellar order {paid.reference} is refunded"
    assert "$7.50 goes back to the card" in email.body
    assert "Refunded so far: $7.50 of $20.00." in email.body

    # The rest: the event first this time (the answer lost), then the resent form
    faults.fail_next(times=3, kind="timeout", path_startswith="/v1/refunds")
    with django_capture_on_commit_callbacks(execute=True):
        lost = merchant.post(f"/admin/orders/refund/{paid.pk}/", follow=True)
        [event] = webhooks.pending_events(type="charge.refunded")
        webhooks.deliver(event, transport=stripe_webhook)
    faults.reset()
    with django_capture_on_commit_callbacks(execute=True):
        merchant.post(f"/admin/orders/refund/{paid.pk}/")

    order.refresh_from_db()
    # (the double click's own message first: the same refund, already counted)
    assert messages_of(lost) == [
        f"7.50 USD of {paid.reference} is refunded so far.",
        "Stripe did not answer; nothing changed here yet. Try again: the same refund "
        "is asked for, never a second one.",
    ]
    assert (order.status, order.amount_refunded) == ("refunded", Decimal("20.00"))
    assert refunds_in_stripe(order) == 2
    assert [m.subject for m in mail.outbox] == [
        f"Part of your Cellar order {paid.reference} is refunded",
        f"Your Cellar order {paid.reference} is refunded",
    ]
    assert "$12.50 goes back to the card" in mail.outbox[1].body
    page = Client().get(f"/orders/{order.token}/").content.decode()
    assert re.search(r'data-step="refunded">.*?Refunded in full: \$20\.00', page, re.S)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("10.01", "must be more than 0 and at most 10.00 USD"),
        ("0", "Ensure this value is greater than or equal to 0.01."),
        ("abc", "Enter a number."),
    ],
)
def test_a_refund_of_more_than_is_left_or_of_nothing_is_refused(
    merchant, paid, amount, message
):
    response = merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), "amount": amount},
        follow=True,
    )

    shown = response.content.decode()
    assert message in shown
    assert refunds_in_stripe(paid) == 0
    assert Order.objects.get(pk=paid.pk).amount_refunded == 0
    assert mail.outbox == []


def test_shipped_with_a_carrier_then_delivered_the_shopper_sees_each_step(
    merchant, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        merchant.post(
            f"/admin/orders/ship/{paid.pk}/",
            {"carrier": "ups", "tracking_number": "1Z 999"},
        )
    merchant.post(f"/admin/orders/deliver/{paid.pk}/")
    again = merchant.post(f"/admin/orders/deliver/{paid.pk}/", follow=True)

    order = Order.objects.get(pk=paid.pk)
    assert order.tracking_url == "https://www.ups.com/track?tracknum=1Z%20999"
    assert order.delivered_at is not None
    assert messages_of(again)[-1] == f"{paid.reference} was already marked delivered."
    [email] = mail.outbox
    assert "Carrier: UPS" in email.body
    assert "Track it: https://www.ups.com/track?tracknum=1Z%20999" in email.body
    assert log_entries(order, "cellar.order.ship") == [
        {"carrier": "ups", "tracking_number": "1Z 999"}
    ]
    assert len(log_entries(order, "cellar.order.deliver")) == 1
    page = Client().get(f"/orders/{order.token}/").content.decode()
    assert "Delivered. Enjoy your wine!" in page
    assert re.findall(r'data-step="(\w+)"', page) == [
        "placed",
        "paid",
        "invoice",
        "shipped",
        "delivered",
    ]
    assert (
        '<a href="https://www.ups.com/track?tracknum=1Z%20999" rel="noopener '
        'noreferrer" data-tracking-link>1Z 999</a>'
    ) in page


def test_a_partial_refund_asked_again_after_no_answer_is_the_same_refund(
    merchant, stripe_webhook, buy
):
    paid = buy(lines=(("red", 2),))  # 20.00
    faults.fail_next(times=3, kind="timeout", path_startswith="/v1/refunds")
    merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), "amount": "7.50"},
    )
    faults.reset()

    # The merchant opens the form again (a new form id) and asks for 7.50 again
    merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), "amount": "7.50"},
    )
    assert refunds_in_stripe(paid) == 1
    assert Order.objects.get(pk=paid.pk).amount_refunded == Decimal("7.50")
    # and, Stripe having answered this time, a deliberate second 7.50
    merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), "amount": "7.50"},
    )

    order = Order.objects.get(pk=paid.pk)
    assert refunds_in_stripe(order) == 2
    assert order.amount_refunded == Decimal("15.00")
    assert [e["status"] for e in log_entries(order, "cellar.order.refund")] == [
        "no answer from Stripe",
        "succeeded",
        "succeeded",
    ]


def test_a_refund_email_lost_with_its_task_is_sent_by_the_sweep_once(
    merchant, buy, django_capture_on_commit_callbacks
):
    from orders.tasks import queue_missing_invoices

    paid = buy(lines=(("red", 2),))
    mail.outbox.clear()
    # The refund is recorded, but its email task never runs (the broker was down)
    with django_capture_on_commit_callbacks(execute=False):
        merchant.post(
            f"/admin/orders/refund/{paid.pk}/",
            {**refund_form(merchant, paid), "amount": "5.00"},
        )
    assert Order.objects.get(pk=paid.pk).amount_refunded == Decimal("5.00")
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        first = queue_missing_invoices(older_than_minutes=0)
        again = queue_missing_invoices(older_than_minutes=0)

    assert (first, again) == (1, 0)
    [email] = mail.outbox
    assert email.subject == f"Part of your Cellar order {paid.reference} is refunded"
    assert "$5.00 goes back to the card" in email.body


def test_a_refund_by_bottles_pays_back_their_share_once(
    merchant, stripe_webhook, buy, django_capture_on_commit_callbacks
):
    from coupons.models import Coupon

    Coupon.objects.create(code="TENOFF", kind="percent", value=10)
    # 2 × red 10.00 + 1 × white 25.50 = 45.50, 10% off: 40.95 paid
    paid = buy(lines=(("red", 2), ("white", 1)), coupon="TENOFF")
    assert paid.total == Decimal("40.95")
    red, white = paid.lines.order_by("sku")
    mail.outbox.clear()
    form = merchant.get(f"/admin/orders/refund/{paid.pk}/").content.decode()
    assert "2 of 2 not refunded; 9.00 USD each" in form

    # One broken bottle of red: its 9.00, clicked twice
    first = refund_form(merchant, paid)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            done = merchant.post(
                f"/admin/orders/refund/{paid.pk}/",
                {**first, f"line_{red.pk}": "1"},
                follow=True,
            )
        webhooks.deliver_pending(transport=stripe_webhook)

    order = Order.objects.get(pk=paid.pk)
    assert order.amount_refunded == Decimal("9.00")
    assert refunds_in_stripe(order) == 1
    assert messages_of(done)[-1] == f"9.00 USD of {paid.reference} is refunded so far."
    assert log_entries(order, "cellar.order.refund")[-1]["lines"] == {str(red.pk): 1}
    [email] = mail.outbox
    assert "$9.00 goes back to the card" in email.body

    # Two more reds than are left: refused, nothing asked of Stripe
    refused = merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), f"line_{red.pk}": "2"},
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        f"line_{red.pk}": ["Ensure this value is less than or equal to 1."]
    }
    # An amount and bottles at once: refused
    both = merchant.post(
        f"/admin/orders/refund/{paid.pk}/",
        {**refund_form(merchant, paid), f"line_{white.pk}": "1", "amount": "1.00"},
        follow=True,
    )
    assert "Give an amount or lines, not both." in both.content.decode()
    assert refunds_in_stripe(order) == 1

    # The white and the last red: 22.95 + 9.00 = 31.95, all that is left
    with django_capture_on_commit_callbacks(execute=True):
        merchant.post(
            f"/admin/orders/refund/{paid.pk}/",
            {
                **refund_form(merchant, paid),
                f"line_{red.pk}": "1",
                f"line_{white.pk}": "1",
            },
        )
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("refunded", Decimal("40.95"))
