"""A coupon limited to 3 uses, 10 paid orders fulfilled at once (PostgreSQL)."""

import pytest
from django.test import Client

from checkout.models import StripeEvent
from checkout.tests.conftest import CONTACT, check_out, session_id_of
from checkout.tests.test_concurrency import run_concurrently
from coupons.models import Coupon
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.tests import factories
from stripe_emulator import payments, webhooks


@pytest.fixture
def ten_paid_sessions(committed_db):
    country = factories.country("Couponia")
    region = factories.region("Limited Valley", country)
    wine = factories.wine(
        region, "Rush Red", variants=[factories.variant("20.00", stock=100)]
    )
    coupon = Coupon.objects.create(code="THREE", kind="fixed", value=5, usage_limit=3)
    sessions = []
    for _ in range(10):
        shopper = Client()
        shopper.post("/cart/add/", {"variant": wine.variants.get().pk, "quantity": 1})
        shopper.post("/cart/coupon/", {"code": "THREE"})
        session_id = session_id_of(check_out(shopper))
        payments.pay(session_id, "4242424242424242")
        sessions.append(session_id)
    yield sessions, coupon
    StripeEvent.objects.all().delete()
    Invoice.objects.filter(
        order__in=Order.objects.filter(stripe_session_id__in=sessions)
    ).delete()
    Order.objects.filter(stripe_session_id__in=sessions).delete()
    Customer.objects.for_email(CONTACT["email"]).delete()
    coupon.delete()
    country.delete()


def test_ten_concurrent_payments_count_three_uses_and_flag_seven(ten_paid_sessions):
    sessions, coupon = ten_paid_sessions
    events = {
        event.data["data"]["object"]["id"]: event
        for event in webhooks.pending_events(type="checkout.session.completed")
    }

    def deliver(index):
        transport = webhooks.django_client_transport(Client())
        return webhooks.deliver(events[sessions[index]], transport=transport)

    statuses = run_concurrently(10, deliver)

    assert statuses == [[200]] * 10
    orders = Order.objects.filter(stripe_session_id__in=sessions)
    assert [o.status for o in orders] == [OrderStatus.PAID] * 10
    assert {o.total for o in orders} == {15}
    assert Coupon.objects.get(pk=coupon.pk).times_used == 3
    assert orders.filter(needs_attention=True).count() == 7
    assert orders.filter(needs_attention=False).count() == 3
    # each flagged order puts its discount at stake, shown in the one filter
    assert {o.amount_at_stake for o in orders.filter(needs_attention=True)} == {5}
