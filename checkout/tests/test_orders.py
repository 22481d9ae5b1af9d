from datetime import timedelta

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from checkout.models import StripeEvent
from orders.models import Order
from orders.status import OrderStatus
from stripe_emulator import payments, webhooks

from .conftest import CONTACT, check_out, session_id_of


def test_order_page_is_for_whoever_holds_the_link(placed):
    client, order, session_id = placed

    mine = client.get(f"/orders/{order.token}/")
    stranger = Client().get(f"/orders/{order.token}/")
    guessed = client.get(f"/orders/{order.pk}/")
    other = client.get(f"/orders/{order.reference}/")

    assert mine.status_code == stranger.status_code == 200
    assert "Waiting for payment." in mine.content.decode()
    assert guessed.status_code == other.status_code == 404


def test_orders_list_shows_the_sessions_orders_only(placed, wines):
    client, order, session_id = placed
    someone_else = Client()
    someone_else.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    session_id_of(check_out(someone_else, email="bob@example.com"))

    mine = client.get("/orders/")
    theirs = someone_else.get("/orders/")
    nobody = Client().get("/orders/")

    assert [o.reference for o in mine.context["orders"]] == [order.reference]
    assert [o.email for o in theirs.context["orders"]] == ["bob@example.com"]
    assert list(nobody.context["orders"]) == []


def test_orders_of_a_signed_in_shopper_are_linked_to_the_account(
    client, wines, django_user_model
):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-1234567")
    client.force_login(user)
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    session_id_of(check_out(client))

    browser_two = Client()
    browser_two.force_login(user)

    assert Order.objects.get().user == user
    assert len(browser_two.get("/orders/").context["orders"]) == 1


def test_checkout_is_prefilled_from_the_last_order_in_the_session(placed):
    client, order, session_id = placed

    form = client.get("/checkout/").context["form"]

    assert form.initial["email"] == "ada@example.com"
    assert form.initial["country"] == "GB"
    assert Client().get("/checkout/").status_code == 302  # no cart, no prefill


def test_cancel_page_keeps_the_cart(placed):
    client, order, session_id = placed

    response = client.get("/checkout/cancel/", follow=True)

    assert response.redirect_chain == [("/cart/", 302)]
    assert client.get("/cart/api/").json()["count"] == 3
    assert "Payment cancelled" in response.content.decode()


def test_a_pending_order_too_old_for_a_session_is_replaced(shopper):
    first = session_id_of(check_out(shopper))
    Order.objects.filter(stripe_session_id=first).update(stripe_session_id=None)
    Order.objects.update(checkout_expires_at=timezone.now() + timedelta(minutes=20))

    second = session_id_of(check_out(shopper))

    assert [(o.status, o.stripe_session_id) for o in Order.objects.order_by("pk")] == [
        (OrderStatus.CANCELLED, None),
        (OrderStatus.PENDING, second),
    ]


def test_replay_command_reruns_a_ledger_event(placed, capsys):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")
    webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    event = StripeEvent.objects.get()

    call_command("replay_stripe_event", event.event_id)

    assert capsys.readouterr().out.strip() == f"Replayed {event.event_id}: processed."
    assert Order.objects.get(pk=order.pk).history.count() == 1


def test_reconcile_command_reports_what_changed(placed, capsys):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")

    call_command("reconcile_payments", "--older-than", "0")

    assert capsys.readouterr().out.strip() == "Reconciled pending orders: 1 changed."
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_checking_out_a_cart_already_paid_settles_it(placed):
    client, order, session_id = placed
    payments.pay(session_id, "4242424242424242")  # the webhook has not arrived

    response = client.post("/checkout/", CONTACT)

    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_buy_again_puts_back_what_is_still_for_sale_and_says_what_is_not(
    wines, pay_for
):
    from django.test import Client

    from products.models import WineVariant

    order = pay_for([(wines["red"], 2), (wines["white"], 1)])
    WineVariant.objects.filter(pk=wines["white"].pk).update(stock=0)
    WineVariant.objects.filter(pk=wines["red"].pk).update(stock=1)
    shopper = Client()

    response = shopper.post(f"/orders/{order.token}/reorder/", follow=True)

    assert response.redirect_chain == [("/cart/", 302)]
    cart = shopper.get("/cart/api/").json()
    assert [(line["sku"], line["quantity"]) for line in cart["items"]] == [
        ("CART-RED", 1)
    ]
    told = [str(message) for message in response.context["messages"]]
    assert told[0] == "Cart Red 2020 (75 cl bottle): only 1 of 2 left, added."
    assert told[1].startswith("Cart White 2020 (75 cl bottle): not added. ")
    assert told[2] == f"The wines of order {order.reference} are in your cart."
    # A GET changes nothing
    assert Client().get(f"/orders/{order.token}/reorder/").status_code == 405
