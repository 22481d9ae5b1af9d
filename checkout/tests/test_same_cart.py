"""One cart, several checkouts: at most one payable session, and never a bottle
paid twice without the merchant being told; after payment the cart keeps exactly
what was not paid for."""

import pytest
from django.test import Client

from checkout.sessions import checkout_session_url
from orders.models import Order
from orders.placement import CartNotReady
from orders.status import OrderStatus
from stripe_emulator import faults, payments, webhooks
from stripe_emulator.models import EmulatedObject

from .conftest import check_out, session_id_of


@pytest.fixture
def stripe_side(db):
    faults.reset()
    yield webhooks.django_client_transport(Client())
    faults.reset()


def add(client, variant, quantity=1):
    client.post("/cart/add/", {"variant": variant.pk, "quantity": quantity})


def cart_items(client):
    body = client.get("/cart/api/").json()
    return {item["sku"]: item["quantity"] for item in body["items"]}


def order_of(session_id):
    return Order.objects.get(stripe_session_id=session_id)


def session_status(session_id):
    return payments.checkout_session(session_id)["status"]


def test_checking_out_again_expires_the_carts_earlier_session(client, wines):
    # Given a checkout started for one wine
    add(client, wines["red"])
    first = session_id_of(check_out(client))

    # When the shopper goes back, adds a wine and checks out again
    add(client, wines["white"])
    second = session_id_of(check_out(client))

    # Then only the newer session can be paid; the earlier order says why it closed
    assert (session_status(first), session_status(second)) == ("expired", "open")
    earlier = order_of(first)
    assert earlier.status == OrderStatus.CANCELLED
    assert earlier.history.get().note == (
        f"{Order.SUPERSEDED} {order_of(second).reference}"
    )
    with pytest.raises(payments.SessionNotPayable):
        payments.pay(first, "4242424242424242")


def test_a_session_paid_before_the_next_checkout_sends_the_shopper_to_the_rest(
    client, wines, stripe_side
):
    # Given a session paid at Stripe whose webhook has not arrived yet
    add(client, wines["red"])
    first = session_id_of(check_out(client))
    payments.pay(first, "4242424242424242")
    add(client, wines["white"])

    # When the shopper checks out the cart again
    response = check_out(client)

    # Then the earlier order is paid, no second session is made, and the cart
    # holds only what the payment did not cover
    assert (response.status_code, response["Location"]) == (302, "/cart/")
    assert order_of(first).status == OrderStatus.PAID
    newer = Order.objects.exclude(pk=order_of(first).pk).get(
        checkout_key__startswith=order_of(first).checkout_key.split(":")[0]
    )
    assert (newer.status, newer.stripe_session_id) == (OrderStatus.CANCELLED, None)
    assert cart_items(client) == {"CART-WHITE": 1}


def test_a_payment_landing_on_a_superseded_session_is_flagged(
    client, wines, stripe_side
):
    # Given a superseded session that Stripe still completes (it was being paid
    # when the newer checkout expired it; Stripe's clock and ours differ)
    add(client, wines["red"])
    first = session_id_of(check_out(client))
    add(client, wines["white"])
    second = session_id_of(check_out(client))
    reopened = payments.checkout_session(first) | {"status": "open"}
    EmulatedObject.objects.filter(id=first).update(data=reopened)
    payments.pay(first, "4242424242424242")

    # When its events arrive, and then the newer session is paid too
    webhooks.deliver_pending(transport=stripe_side)
    left_after_first = cart_items(client)
    payments.pay(second, "4242424242424242")
    webhooks.deliver_pending(transport=stripe_side)

    # Then both are recorded, each flagged with the reason, and the cart keeps what
    # the first payment did not cover until the second one pays for it
    earlier, newer = order_of(first), order_of(second)
    assert (earlier.status, newer.status) == (OrderStatus.PAID, OrderStatus.PAID)
    assert earlier.needs_attention and newer.needs_attention
    assert f"{Order.SUPERSEDED} {newer.reference}" in earlier.attention_reason
    assert f"also paid as order {earlier.reference}" in newer.attention_reason
    assert (earlier.amount_at_stake, newer.amount_at_stake) == (
        earlier.total,
        newer.total,
    )
    assert left_after_first == {"CART-WHITE": 1}
    assert cart_items(client) == {}


def test_after_payment_the_cart_keeps_what_another_tab_added(
    client, wines, stripe_side
):
    # Given a checkout of 1 red, then (in another tab) 2 more red and a white
    add(client, wines["red"])
    session_id = session_id_of(check_out(client))
    add(client, wines["red"], 2)
    add(client, wines["white"])

    # When the first session is paid and the shopper lands on the order page
    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=stripe_side)
    page = client.get(f"/orders/{order_of(session_id).token}/")

    # Then the cart holds exactly what was not paid for, and the page says so
    assert cart_items(client) == {"CART-RED": 2, "CART-WHITE": 1}
    notices = [str(message) for message in page.context["messages"]]
    assert notices[-1] == (
        f"Your order {order_of(session_id).reference} is paid. What you added to "
        "your cart after it was placed is still here."
    )
    assert 'data-order-status="paid"' in page.content.decode()


def test_after_payment_an_unchanged_cart_is_empty(client, wines, stripe_side):
    add(client, wines["red"], 2)
    client.post("/cart/coupon/", {"code": "WELCOME10"})
    session_id = session_id_of(check_out(client))

    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=stripe_side)

    body = client.get("/cart/api/").json()
    assert (body["items"], body["coupon"], body["count"]) == ([], None, 0)


def test_shopping_again_after_a_payment_flags_nothing(client, wines, stripe_side):
    # Given an order paid, then the same browser (the same cart) shopping again
    add(client, wines["red"])
    first = session_id_of(check_out(client))
    payments.pay(first, "4242424242424242")
    webhooks.deliver_pending(transport=stripe_side)
    add(client, wines["white"])

    # When the second order is paid too
    second = session_id_of(check_out(client))
    payments.pay(second, "4242424242424242")
    webhooks.deliver_pending(transport=stripe_side)

    # Then both are plain paid orders: a later purchase is no double payment
    for session_id in (first, second):
        order = order_of(session_id)
        assert (order.status, order.needs_attention, order.amount_at_stake) == (
            OrderStatus.PAID,
            False,
            0,
        )


def test_an_order_superseded_while_its_session_was_made_gets_no_payable_session(
    client, wines, stripe_side
):
    # Given tab 1's order, whose session is still being made (Stripe unreachable
    # for its first request), and tab 2 checking out a newer version of the cart
    add(client, wines["red"])
    faults.fail_next(times=3, kind="connection_error")  # the SDK tries 3 times
    assert check_out(client).status_code == 503
    older = Order.objects.get(status=OrderStatus.PENDING)
    add(client, wines["white"])
    newer = session_id_of(check_out(client))

    # When tab 1's session creation completes after all
    with pytest.raises(CartNotReady) as refused:
        checkout_session_url(
            Order.objects.get(pk=older.pk),
            success_url="http://testserver/checkout/success/",
            cancel_url="http://testserver/checkout/cancel/",
        )

    # Then the session it made is expired at once; only tab 2's can be paid
    assert "checked out again in another window" in refused.value.reasons[0]
    older.refresh_from_db()
    assert (older.status, older.stripe_session_id) == (OrderStatus.CANCELLED, None)
    made = EmulatedObject.objects.filter(type="checkout.session").exclude(id=newer)
    assert [s.data["status"] for s in made] == ["expired"]
    assert session_status(newer) == "open"
