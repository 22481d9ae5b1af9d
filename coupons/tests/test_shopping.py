"""Coupons in the cart, at checkout, in Stripe and at payment."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from checkout.stripe_api import client as stripe_client
from checkout.tests.conftest import check_out, session_id_of
from coupons.models import Coupon
from coupons.services import MAX_FAILURES
from orders.models import Order
from orders.status import OrderStatus
from stripe_emulator import payments, webhooks


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ten_off(db):
    return Coupon.objects.create(
        code="TENOFF", description="10% off", kind="percent", value=10
    )


@pytest.fixture
def shopper(client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    return client  # subtotal 45.50


def cart_json(client):
    return client.get("/cart/api/").json()


def test_applying_a_coupon_shows_the_discount_and_new_total(shopper, ten_off):
    response = shopper.post("/cart/coupon/", {"code": " tenoff "}, follow=True)

    assert [str(m) for m in response.context["messages"]][-1] == (
        "Coupon TENOFF applied: 10% off."
    )
    html = response.content.decode()
    assert "<dd data-cart-discount>−$4.55</dd>" in html
    assert "<dd data-cart-total>$40.95</dd>" in html
    body = cart_json(shopper)
    assert (body["subtotal"], body["discount"], body["total"]) == (
        "45.50",
        "4.55",
        "40.95",
    )
    assert body["coupon"] == {
        "code": "TENOFF",
        "description": "10% off",
        "discount": "4.55",
    }


def test_removing_a_coupon(shopper, ten_off):
    shopper.post("/cart/coupon/", {"code": "TENOFF"})

    shopper.post("/cart/coupon/", {"remove": "1"})

    assert cart_json(shopper)["coupon"] is None
    assert cart_json(shopper)["total"] == "45.50"


@pytest.mark.parametrize(
    "code_fields, answer",
    [
        # A code the shop does not have: one answer, whatever was typed
        ({"code": "NOPE"}, "That code is not valid."),
        # A code it has says why it does not apply, and what to do
        (
            {"code": "OLD", "valid_to": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
            "The coupon OLD has expired: it ended on 1 January 2020.",
        ),
        (
            {"code": "SOON", "valid_from": dt.datetime(2099, 3, 5, tzinfo=dt.UTC)},
            # not launched yet, or switched off: as if the shop had no such code
            "That code is not valid.",
        ),
        ({"code": "OFF", "active": False}, "That code is not valid."),
        (
            {"code": "BIG", "minimum_subtotal": Decimal("100")},
            "The coupon BIG needs a subtotal of at least $100.00: add $54.50 more "
            "to use it.",
        ),
        (
            {"code": "GONE", "usage_limit": 1, "times_used": 1},
            "The coupon GONE has been used up.",
        ),
    ],
)
def test_a_refused_code_says_why_unless_the_shop_does_not_have_it(
    shopper, code_fields, answer
):
    if code_fields["code"] != "NOPE":
        Coupon.objects.create(kind="percent", value=5, **code_fields)
    before = cart_json(shopper)

    response = shopper.post(
        "/cart/coupon/",
        {"code": code_fields["code"].lower()},
        HTTP_ACCEPT="application/json",
    )
    page = shopper.post("/cart/coupon/", {"code": code_fields["code"]}, follow=True)

    assert response.status_code == 400
    assert response.json() == {"errors": {"code": [answer]}}
    assert answer in page.content.decode().replace("&#x27;", "'")
    assert cart_json(shopper) == before


def test_a_code_already_in_the_cart_says_so(shopper, ten_off):
    shopper.post("/cart/coupon/", {"code": "TENOFF"})

    again = shopper.post(
        "/cart/coupon/", {"code": " tenoff "}, HTTP_ACCEPT="application/json"
    )

    assert again.status_code == 400
    assert again.json() == {
        "errors": {"code": ["The coupon TENOFF is already applied."]}
    }
    assert cart_json(shopper)["coupon"]["code"] == "TENOFF"


def test_a_coupon_that_expires_in_the_cart_is_dropped_with_the_reason(shopper):
    weekend = Coupon.objects.create(
        code="WEEKEND",
        kind="fixed",
        value=5,
        valid_to=timezone.now() + dt.timedelta(hours=1),
    )
    ended = timezone.localtime(weekend.valid_to).strftime("%-d %B %Y")
    shopper.post("/cart/coupon/", {"code": "WEEKEND"})
    assert cart_json(shopper)["discount"] == "5.00"

    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        body = cart_json(shopper)

    assert body["coupon"] is None
    assert body["total"] == "45.50"
    assert body["notices"] == [
        f"The coupon WEEKEND has expired: it ended on {ended}. It was removed from "
        "your cart."
    ]


def test_the_api_applies_and_removes_coupons(shopper, ten_off, wines):
    body = cart_json(shopper)
    items = {str(i["variant"]): {"quantity": i["quantity"]} for i in body["items"]}

    def post(version, coupon):
        return shopper.post(
            "/cart/api/",
            json.dumps({"version": version, "items": items, "coupon": coupon}),
            content_type="application/json",
        )

    applied = post(body["version"], "tenoff")
    refused = post(applied.json()["version"], "X")
    removed = post(applied.json()["version"], None)

    assert applied.status_code == 200
    assert applied.json()["coupon"]["code"] == "TENOFF"
    assert applied.json()["total"] == "40.95"
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"coupon": ["That code is not valid."]}}
    assert removed.status_code == 200
    assert removed.json()["coupon"] is None
    assert removed.json()["total"] == "45.50"


def test_wrong_codes_are_rate_limited_then_allowed_again(shopper, ten_off):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(MAX_FAILURES):
            assert shopper.post("/cart/coupon/", {"code": "GUESS"}).status_code == 400
        limited = shopper.post("/cart/coupon/", {"code": "TENOFF"})
        other_browser = Client(REMOTE_ADDR="127.0.0.1")

    assert limited.status_code == 429
    assert limited["Retry-After"] == "61"
    assert "Too many wrong codes. Please wait 61 seconds" in limited.content.decode()
    assert cart_json(shopper)["coupon"] is None
    with time_machine.travel(start, tick=False):
        assert other_browser.post("/cart/coupon/", {"code": "X"}).status_code == 429

    with time_machine.travel(start + dt.timedelta(seconds=62), tick=False):
        ok = shopper.post("/cart/coupon/", {"code": "TENOFF"})
    assert ok.status_code == 302
    assert cart_json(shopper)["coupon"]["code"] == "TENOFF"


def test_checkout_sends_the_exact_discount_to_stripe(shopper, ten_off):
    shopper.post("/cart/coupon/", {"code": "TENOFF"})

    session_id = session_id_of(check_out(shopper))

    order = Order.objects.get()
    assert (order.subtotal, order.discount, order.total, order.coupon_code) == (
        Decimal("45.50"),
        Decimal("4.55"),
        Decimal("40.95"),
        "TENOFF",
    )
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)
    assert session.amount_subtotal == 4550
    assert session.total_details.amount_discount == 455
    assert session.amount_total == 4095
    stripe_coupon = stripe_client().v1.coupons.retrieve(session.discounts[0].coupon)
    assert (stripe_coupon.amount_off, stripe_coupon.duration, stripe_coupon.name) == (
        455,
        "once",
        "TENOFF",
    )


def test_a_use_is_counted_only_when_paid(shopper, ten_off):
    shopper.post("/cart/coupon/", {"code": "TENOFF"})
    session_id = session_id_of(check_out(shopper))
    assert Coupon.objects.get(code="TENOFF").times_used == 0

    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.needs_attention is False
    assert Coupon.objects.get(code="TENOFF").times_used == 1
    page = shopper.get(f"/orders/{order.token}/").content.decode()
    assert "Discount (TENOFF)" in page
    assert "<dd data-order-discount>−$4.55</dd>" in page


def test_F8_a_free_order_is_fulfilled_without_payment(shopper, wines):
    Coupon.objects.create(code="FREE", kind="percent", value=100)
    shopper.post("/cart/coupon/", {"code": "FREE"})
    session_id = session_id_of(check_out(shopper))
    assert stripe_client().v1.checkout.sessions.retrieve(session_id).amount_total == 0

    payments.pay(session_id)
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))

    order = Order.objects.get()
    assert (order.total, order.status) == (Decimal("0.00"), OrderStatus.PAID)
    assert order.history.get().note == "payment_status=no_payment_required"


def test_a_limit_reached_before_payment_flags_the_paid_order(shopper, wines):
    limited = Coupon.objects.create(code="ONCE", kind="fixed", value=5, usage_limit=1)
    shopper.post("/cart/coupon/", {"code": "ONCE"})
    session_id = session_id_of(check_out(shopper))
    Coupon.objects.filter(pk=limited.pk).update(times_used=1)  # someone else paid

    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.total == Decimal("40.50")
    assert order.attention_reason == (
        "Coupon ONCE had reached its limit of 1 uses when this order was paid; the "
        "shopper paid the discounted price."
    )
    assert Coupon.objects.get(code="ONCE").times_used == 1
