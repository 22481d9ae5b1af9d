"""What a checkout holds: the last bottles raced for by 20 shoppers (PostgreSQL, real
threads), and every way a hold ends: paid, expired (webhook or reconcile), replaced
by a newer checkout of the cart, a failed debit, a merchant's release, and a
payment that lands after its hold ended."""

import datetime

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from checkout.models import StripeEvent
from checkout.tasks import reconcile_pending_orders
from checkout.tests.conftest import CONTACT, check_out, session_id_of
from checkout.tests.test_concurrency import run_concurrently
from coupons.models import Coupon
from home.models import ShopSettings
from orders import holds
from orders.models import Customer, Invoice, Order
from orders.placement import MIN_SESSION_WINDOW
from orders.status import OrderStatus
from products import stock
from products.models import StockHold, WineVariant
from products.tests import factories
from stripe_emulator import faults, payments, webhooks

HELD = (
    "Last Drop (75 cl bottle) is reserved in other shoppers’ checkouts just now and "
    "was removed from your cart. It may be back if they do not pay."
)


def deliver(types=None):
    webhooks.deliver_pending(
        transport=webhooks.django_client_transport(Client()), types=types
    )


def add(shopper, variant, quantity=1):
    answer = shopper.post("/cart/add/", {"variant": variant.pk, "quantity": quantity})
    assert answer.status_code == 302


@pytest.fixture
def last_five(committed_db):
    """A wine with 5 bottles left, committed so threads see it."""
    country = factories.country("Scarcia")
    region = factories.region("Last Valley", country)
    wine = factories.wine(
        region, "Last Drop", variants=[factories.variant("30.00", stock=5)]
    )
    yield wine.variants.get()
    orders = Order.objects.filter(lines__variant__page=wine)
    StripeEvent.objects.all().delete()
    Invoice.objects.filter(order__in=orders).delete()
    orders.delete()
    Customer.objects.for_email(CONTACT["email"]).delete()
    country.delete()


def test_twenty_shoppers_race_for_the_last_five_bottles(last_five):
    # given: twenty shoppers each with one of the last five bottles in their cart
    shoppers = [Client() for _ in range(20)]
    for shopper in shoppers:
        add(shopper, last_five)

    # when: all twenty check out at once
    answers = run_concurrently(20, lambda index: check_out(shoppers[index]))

    # then: exactly five are sent to a Checkout Session, fifteen back to the cart
    sessions = [session_id_of(a) for a in answers if a.status_code == 303]
    refused = [shoppers[i] for i, a in enumerate(answers) if a.status_code == 302]
    assert (len(sessions), len(refused)) == (5, 15)
    assert Order.objects.filter(lines__variant=last_five).count() == 5
    assert stock.held([last_five.pk]) == {last_five.pk: 5}
    page = Client().get(last_five.page.url).content.decode()
    assert "Reserved in other shoppers’ checkouts" in page
    # and each of the fifteen reads why, with the bottle gone from their cart
    for shopper in refused:
        assert HELD in shopper.get("/cart/").content.decode()
        assert shopper.get("/cart/api/").json()["items"] == []

    # when: the five pay
    for session_id in sessions:
        payments.pay(session_id, "4242424242424242")
    deliver()

    # then: five paid, stock 0, nothing held, nobody oversold or flagged
    orders = Order.objects.filter(stripe_session_id__in=sessions)
    assert [o.status for o in orders] == [OrderStatus.PAID] * 5
    assert WineVariant.objects.get(pk=last_five.pk).stock == 0
    assert not StockHold.objects.filter(variant=last_five).exists()
    assert orders.filter(needs_attention=True).count() == 0


@pytest.fixture
def two_held(wines, client):
    """A shopper's checkout holding 2 of the 3 white bottles: (order, session id)."""
    add(client, wines["white"], 2)
    session_id = session_id_of(check_out(client))
    return Order.objects.get(stripe_session_id=session_id), session_id


def available(variant):
    return WineVariant.objects.with_held().get(pk=variant.pk).available


def assert_released(order, variant, stock_left=3):
    order.refresh_from_db()
    assert order.held_until is None
    assert not StockHold.objects.filter(holder=holds.holder(order)).exists()
    assert WineVariant.objects.get(pk=variant.pk).stock == stock_left
    assert available(variant) == stock_left


def test_a_held_bottle_is_not_offered_to_anyone_else(two_held, wines):
    order, _ = two_held
    assert order.held_until == order.checkout_expires_at
    assert available(wines["white"]) == 1
    other = Client()
    answer = other.post(
        "/cart/add/",
        {"variant": wines["white"].pk, "quantity": 2},
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["errors"]["quantity"] == [
        "Only 1 of Cart White (75 cl bottle) left."
    ]


def test_the_holding_shopper_may_still_change_their_own_cart(two_held, client, wines):
    # their own hold counts as theirs: the cart page keeps both bottles
    page = client.get("/cart/api/").json()
    assert [(i["sku"], i["quantity"]) for i in page["items"]] == [("CART-WHITE", 2)]
    assert "notices" not in page


def test_the_hold_ends_when_stripe_reports_the_session_expired(two_held, wines):
    order, session_id = two_held
    payments.expire(session_id)
    deliver(types=["checkout.session.expired"])

    assert_released(order, wines["white"])
    assert order.status == OrderStatus.CANCELLED


def test_reconcile_releases_a_hold_only_once_stripe_says_the_session_ended(
    two_held, wines
):
    order, session_id = two_held
    # a session Stripe still has open keeps its hold
    reconcile_pending_orders(older_than_minutes=0)
    order.refresh_from_db()
    assert order.held_until is not None
    assert available(wines["white"]) == 1

    # once Stripe has expired it (its event lost), reconcile releases it
    payments.expire_due(now=order.held_until + datetime.timedelta(seconds=1))
    reconcile_pending_orders(older_than_minutes=0)
    assert_released(order, wines["white"])


def test_a_newer_checkout_of_the_same_cart_takes_over_its_hold(two_held, client, wines):
    order, session_id = two_held
    # the shopper goes back and adds the last white bottle: all 3 are theirs
    add(client, wines["white"], 1)
    newer = Order.objects.get(stripe_session_id=session_id_of(check_out(client)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert payments.checkout_session(session_id)["status"] == "expired"
    assert order.held_until is None
    assert stock.held_by([holds.holder(newer)]) == {wines["white"].pk: 3}
    assert available(wines["white"]) == 0


def test_a_failed_bank_debit_releases_its_hold(two_held, wines):
    order, session_id = two_held
    payments.pay(session_id, method="bank_debit")
    deliver()
    order.refresh_from_db()
    assert (order.status, order.held_until is not None) == (
        OrderStatus.PROCESSING,
        True,
    )

    payments.settle(session_id, succeeded=False)
    deliver()

    assert_released(order, wines["white"])
    assert order.status == OrderStatus.FAILED


def test_a_checkout_that_never_got_its_session_is_released_after_its_time(
    wines, client
):
    add(client, wines["white"], 2)
    faults.fail_next(times=3, kind="connection_error")  # the SDK tries 3 times
    try:
        answer = check_out(client)
    finally:
        faults.reset()
    assert answer.status_code == 503
    order = Order.objects.get(lines__variant=wines["white"])
    assert (order.stripe_session_id, order.held_until is not None) == (None, True)

    # a session can still be made for it (a retry of the checkout), so it holds
    last_chance = order.checkout_expires_at - MIN_SESSION_WINDOW
    with time_machine.travel(last_chance + datetime.timedelta(minutes=4)):
        reconcile_pending_orders(older_than_minutes=0)
    order.refresh_from_db()
    assert order.held_until is not None

    # once none can (and one under way would have been made), it is released
    with time_machine.travel(last_chance + datetime.timedelta(minutes=6)):
        reconcile_pending_orders(older_than_minutes=0)
    assert_released(order, wines["white"])
    assert order.status == OrderStatus.CANCELLED


def test_an_order_the_session_forgot_still_holds_for_its_cart(two_held, client, wines):
    # given: the browser never remembered its order (the session write lost)
    session = client.session
    session["cart"].pop("orders")
    session.save()

    # then: the cart still counts the bottles its checkout holds as its own
    page = client.get("/cart/api/").json()
    assert [(i["sku"], i["quantity"]) for i in page["items"]] == [("CART-WHITE", 2)]
    assert "notices" not in page


def test_the_longest_hold_makes_a_session_stripe_accepts(wines, client):
    ShopSettings.objects.update_or_create(defaults={"hold_minutes": 24 * 60})
    add(client, wines["white"], 1)
    session_id = session_id_of(check_out(client))
    order = Order.objects.get(stripe_session_id=session_id)
    length = order.held_until - order.created_at
    assert (
        datetime.timedelta(hours=23, minutes=58) < length < datetime.timedelta(hours=24)
    )
    expires_at = payments.checkout_session(session_id)["expires_at"]
    assert expires_at == int(order.held_until.timestamp())


def test_a_checkout_and_a_payment_sharing_a_coupon_and_a_wine_never_deadlock(
    last_five,
):
    # given: a limited coupon, and rounds of one shopper paying while another
    # checks out the same wine with it (payment locks coupon then wine; so must
    # a checkout)
    coupon = Coupon.objects.create(code="RACE", kind="fixed", value=1, usage_limit=50)
    WineVariant.objects.filter(pk=last_five.pk).update(stock=40)
    try:
        for _ in range(8):
            payer, checker = Client(), Client()
            for shopper in (payer, checker):
                add(shopper, last_five)
                shopper.post("/cart/coupon/", {"code": "RACE"})
            session_id = session_id_of(check_out(payer))
            payments.pay(session_id, "4242424242424242")
            (event,) = [
                e
                for e in webhooks.pending_events(type="checkout.session.completed")
                if e.data["data"]["object"]["id"] == session_id
            ]

            def work(index, event=event, checker=checker):
                if index == 0:
                    transport = webhooks.django_client_transport(Client())
                    return webhooks.deliver(event, transport=transport)
                return check_out(checker).status_code

            # then: the payment is taken and the checkout is sent to Stripe
            assert run_concurrently(2, work) == [[200], 303]
    finally:
        coupon.delete()


def test_a_payment_after_its_hold_ended_takes_the_stock_if_it_is_there(two_held, wines):
    order, session_id = two_held
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        holds.release(locked)
        locked.save()

    payments.pay(session_id, "4242424242424242")
    deliver()

    order.refresh_from_db()
    assert (order.status, order.needs_attention) == (OrderStatus.PAID, False)
    assert WineVariant.objects.get(pk=wines["white"].pk).stock == 1


def test_a_payment_after_its_hold_ended_with_the_stock_gone_is_flagged(
    two_held, wines, pay_for
):
    # given: the hold ended (Stripe's clock behind ours) and another shopper then
    # bought two of the three bottles
    order, session_id = two_held
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        holds.release(locked)
        locked.save()
    pay_for([(wines["white"], 2)], email="quick@example.com")

    # when: the first shopper's payment lands in its last second
    payments.pay(session_id, "4242424242424242")
    deliver()

    # then: paid, the one bottle left taken, and flagged with the one missing
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert WineVariant.objects.get(pk=wines["white"].pk).stock == 0
    assert order.needs_attention
    assert order.attention_reason == (
        "Paid after its checkout's hold had ended. Oversold: too little stock for "
        "CART-WHITE ×2 (1 in stock)."
    )
    assert order.amount_at_stake == wines["white"].price


def test_holds_move_the_catalogue_version_only_when_pages_would_show_it(
    page_cache, wines, client
):
    from pagecache import clock

    plenty = wines["red"]
    WineVariant.objects.filter(pk=plenty.pk).update(stock=100)
    before = clock.current_version()
    add(client, plenty, 2)
    session_id_of(check_out(client))
    assert clock.read_version() == before  # 98 left: "In stock" either way

    low = Client()
    add(low, wines["white"], 1)
    session_id_of(check_out(low))
    assert clock.read_version() > before  # 2 of 3 left: pages say "Only 2 left"
    assert "Only 2 left" in Client().get(wines["white"].page.url).content.decode()


def test_the_order_and_the_variant_show_their_holds_to_merchants(
    two_held, staff_client, wines
):
    order, _ = two_held
    merchant = staff_client("Merchants")

    inspect = merchant.get(f"/admin/orders/inspect/{order.pk}/").content.decode()
    assert "Held for this checkout" in inspect
    assert "CART-WHITE ×2" in inspect
    holding = merchant.get("/admin/orders/?holding=true").context["object_list"]
    assert [o.reference for o in holding] == [order.reference]

    listed = merchant.get("/admin/holds/?q=CART-WHITE").content.decode()
    assert order.reference in listed
    assert f'href="/admin/orders/inspect/{order.pk}/"' in listed
    assert "CART-WHITE" in listed
    # and editors see them on the variant, in the wine page's editor
    editor = staff_client("Editors")
    page = editor.get(f"/admin/pages/{wines['white'].page.pk}/edit/").content.decode()
    assert f"Order {order.reference}: 2, until" in page


def test_a_merchant_releases_a_hold_by_hand(two_held, staff_client, wines):
    order, session_id = two_held
    merchant = staff_client("Merchants")
    url = f"/admin/orders/release_hold/{order.pk}/"

    assert staff_client("Editors").post(url).status_code in (302, 403)
    order.refresh_from_db()
    assert order.held_until is not None

    answer = merchant.post(url, follow=True)

    assert answer.status_code == 200
    assert payments.checkout_session(session_id)["status"] == "expired"
    assert_released(order, wines["white"])
    assert order.status == OrderStatus.CANCELLED
    inspect = merchant.get(f"/admin/orders/inspect/{order.pk}/").content.decode()
    assert "Checkout ended, hold released" in inspect
    assert timezone.now() - order.updated_at < datetime.timedelta(minutes=1)
