"""A coupon limited to 3 uses and 10 shoppers at once (PostgreSQL, real threads):
checkouts hold the uses, so only 3 are sent to pay with it; payments whose hold had
ended are counted while the limit allows and flagged past it."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from checkout.models import StripeEvent
from checkout.tests.conftest import CONTACT, check_out, session_id_of
from checkout.tests.test_concurrency import run_concurrently
from coupons.models import Coupon, CouponHold
from orders import holds
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.tests import factories
from stripe_emulator import payments, webhooks

RUN_OUT = (
    "The coupon THREE has just been used up by other shoppers: it was removed "
    "from your cart."
)


@pytest.fixture
def ten_carts_with_the_coupon(committed_db):
    """Ten shoppers, each with a bottle and THREE (3 uses) applied in their cart."""
    country = factories.country("Couponia")
    region = factories.region("Limited Valley", country)
    wine = factories.wine(
        region, "Rush Red", variants=[factories.variant("20.00", stock=100)]
    )
    coupon = Coupon.objects.create(code="THREE", kind="fixed", value=5, usage_limit=3)
    shoppers = []
    for _ in range(10):
        shopper = Client()
        shopper.post("/cart/add/", {"variant": wine.variants.get().pk, "quantity": 1})
        applied = shopper.post("/cart/coupon/", {"code": "THREE"}, follow=True)
        assert "THREE" in applied.content.decode()
        shoppers.append(shopper)
    yield shoppers, coupon
    orders = Order.objects.filter(lines__variant__page=wine)
    StripeEvent.objects.all().delete()
    Invoice.objects.filter(order__in=orders).delete()
    orders.delete()
    Customer.objects.for_email(CONTACT["email"]).delete()
    coupon.delete()
    country.delete()


def deliver_at_once(session_ids):
    events = {
        event.data["data"]["object"]["id"]: event
        for event in webhooks.pending_events(type="checkout.session.completed")
    }

    def deliver(index):
        transport = webhooks.django_client_transport(Client())
        return webhooks.deliver(events[session_ids[index]], transport=transport)

    return run_concurrently(len(session_ids), deliver)


def test_ten_checkouts_at_once_three_get_the_coupon_the_rest_are_told(
    ten_carts_with_the_coupon,
):
    shoppers, coupon = ten_carts_with_the_coupon

    # when: the ten check out at once
    answers = run_concurrently(10, lambda index: check_out(shoppers[index]))

    # then: three are sent to Stripe with the discount, seven back to their cart
    sent = [answer for answer in answers if answer.status_code == 303]
    refused = [shoppers[i] for i, a in enumerate(answers) if a.status_code == 302]
    assert (len(sent), len(refused)) == (3, 7)
    assert {a["Location"] for a in answers if a.status_code == 302} == {"/cart/"}
    sessions = [session_id_of(answer) for answer in sent]
    orders = Order.objects.filter(stripe_session_id__in=sessions)
    assert sorted(o.discount for o in orders) == [5, 5, 5]
    # Stripe takes 5.00 off each, and charges the order's total (the demo's
    # delivery to GB and VAT on top: 15 + 38 + 10.60)
    charged = [payments.checkout_session(s) for s in sessions]
    assert [s["total_details"]["amount_discount"] for s in charged] == [500] * 3
    assert sorted(s["amount_total"] for s in charged) == [6360] * 3
    assert sorted(o.total for o in orders) == [Decimal("63.60")] * 3
    assert CouponHold.objects.filter(coupon=coupon).count() == 3
    # and each refused shopper reads why, and their cart no longer has it
    for shopper in refused:
        page = shopper.get("/cart/").content.decode()
        assert RUN_OUT in page
        assert shopper.get("/cart/api/").json()["coupon"] is None

    # when: the three pay at once
    for session_id in sessions:
        payments.pay(session_id, "4242424242424242")
    assert deliver_at_once(sessions) == [[200]] * 3

    # then: three uses counted, no hold left, nobody flagged
    assert Coupon.objects.get(pk=coupon.pk).times_used == 3
    assert not CouponHold.objects.exists()
    assert [o.status for o in orders.all()] == [OrderStatus.PAID] * 3
    assert orders.filter(needs_attention=True).count() == 0


def test_payments_landing_after_their_holds_ended_are_counted_to_the_limit_then_flagged(
    ten_carts_with_the_coupon,
):
    # given: ten checkouts one after another while the coupon's uses are free...
    shoppers, coupon = ten_carts_with_the_coupon
    sessions = []
    for shopper in shoppers:
        session_id = session_id_of(check_out(shopper))
        # ...each hold ended before its payment (as if Stripe's clock ran late)
        with transaction.atomic():
            order = Order.objects.select_for_update().get(stripe_session_id=session_id)
            holds.release(order)
            order.save()
        payments.pay(session_id, "4242424242424242")
        sessions.append(session_id)

    # when: the ten payments are fulfilled at once
    assert deliver_at_once(sessions) == [[200]] * 10

    # then: all paid, three uses counted, the other seven flagged with the discount
    orders = Order.objects.filter(stripe_session_id__in=sessions)
    assert [o.status for o in orders] == [OrderStatus.PAID] * 10
    assert {o.subtotal - o.discount for o in orders} == {15}
    assert Coupon.objects.get(pk=coupon.pk).times_used == 3
    flagged = orders.filter(needs_attention=True)
    assert flagged.count() == 7
    assert {o.amount_at_stake for o in flagged} == {5}
