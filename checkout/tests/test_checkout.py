from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from checkout.stripe_api import client as stripe_client
from orders.models import Order
from orders.status import OrderStatus

from .conftest import CONTACT, check_out, session_id_of


def test_checkout_places_one_pending_order_and_a_session(shopper, wines):
    response = check_out(shopper)

    session_id = session_id_of(response)
    assert response["Location"].endswith(f"/_stripe/pay/{session_id}")
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING
    assert order.stripe_session_id == session_id
    assert (order.email, order.name, order.city, order.country.code) == (
        "ada@example.com",
        "Ada Lovelace",
        "London",
        "GB",
    )
    assert [
        (line.wine_name, line.variant_label, line.sku, line.unit_price, line.quantity)
        for line in order.lines.all()
    ] == [
        ("Cart Red 2020", "75 cl bottle", "CART-RED", Decimal("10.00"), 2),
        ("Cart White 2020", "75 cl bottle", "CART-WHITE", Decimal("25.50"), 1),
    ]
    assert (order.subtotal, order.discount, order.total) == (
        Decimal("45.50"),
        Decimal("0.00"),
        Decimal("45.50"),
    )
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)
    assert session.amount_total == 4550
    assert session.currency == "usd"
    assert session.client_reference_id == order.reference
    assert session.customer_email == "ada@example.com"
    assert session.status == "open"


def test_double_submit_refresh_and_second_tab_reach_the_same_order(shopper):
    first = session_id_of(check_out(shopper))
    second = session_id_of(check_out(shopper))
    third = session_id_of(check_out(shopper, name="Ada King"))

    assert first == second == third
    assert Order.objects.count() == 1
    assert Order.objects.get().name == "Ada King"


def test_a_changed_cart_is_a_new_order(shopper, wines):
    first = session_id_of(check_out(shopper))
    shopper.post("/cart/update/", {"variant": wines["red"].pk, "quantity": 3})

    second = session_id_of(check_out(shopper))

    assert first != second
    assert sorted(Order.objects.values_list("total", flat=True)) == [
        Decimal("45.50"),
        Decimal("55.50"),
    ]


def test_prices_posted_by_the_client_are_ignored(shopper):
    response = check_out(
        shopper, total="0.01", subtotal="0.01", unit_price="0.01", amount="1"
    )

    session_id_of(response)
    assert Order.objects.get().total == Decimal("45.50")


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"name": ""}, "name", "This field is required."),
        ({"country": "ZZ"}, "country", "We do not deliver to that country yet."),
        ({"country": "JP"}, "country", "We do not deliver to that country yet."),
        (
            {"legal_age": ""},
            "legal_age",
            "Please confirm you are of legal drinking age; we cannot sell wine "
            "otherwise.",
        ),
        (
            {"postal_code": "x" * 21},
            "postal_code",
            "Ensure this value has at most 20 characters (it has 21).",
        ),
    ],
)
def test_checkout_form_errors(shopper, changes, field, message):
    response = check_out(shopper, **changes)

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert Order.objects.count() == 0


def test_an_empty_cart_goes_back_to_the_cart(client, db):
    response = client.post("/checkout/", CONTACT, follow=True)

    assert response.redirect_chain == [("/cart/", 302)]
    assert [str(m) for m in response.context["messages"]] == ["Your cart is empty."]
    assert Order.objects.count() == 0


def test_a_line_that_sold_out_goes_back_to_the_cart_with_the_reason(shopper, wines):
    wines["white"].stock = 0
    wines["white"].save()

    response = check_out(shopper)

    assert response.status_code == 302 and response["Location"] == "/cart/"
    page = shopper.get("/cart/")
    assert Order.objects.count() == 0
    assert [str(m) for m in page.context["messages"]][-1] == (
        "Cart White (75 cl bottle) sold out and was removed from your cart."
    )


def test_a_quantity_above_stock_goes_back_to_the_cart(shopper, wines):
    wines["red"].stock = 1
    wines["red"].save()

    response = shopper.post("/checkout/", CONTACT, follow=True)

    assert response.redirect_chain == [("/cart/", 302)]
    assert "Only 1 of Cart Red (75 cl bottle) left: your cart now holds 1." in [
        str(m) for m in response.context["messages"]
    ]
    assert Order.objects.count() == 0


def test_get_shows_the_form_and_the_summary(shopper):
    response = shopper.get("/checkout/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Pay $45.50 securely" in html
    assert 'autocomplete="postal-code"' in html
    assert [c[0] for c in response.context["form"].fields["country"].choices] == [
        "",
        "CA",
        "FR",
        "DE",
        "IT",
        "ES",
        "GB",
        "US",
    ]


def test_checkouts_are_limited_per_session_and_address(shopper, wines, settings):
    # Given a limit of 3 checkouts a window per session
    cache.clear()
    settings.CHECKOUTS_PER_SESSION, settings.CHECKOUTS_PER_ADDRESS = 3, 100
    red = wines["red"].pk

    # When the same browser checks out 4 times (each a new cart version)
    answers = []
    for quantity in (1, 2, 3, 4):
        shopper.post("/cart/update/", {"variant": red, "quantity": quantity})
        answers.append(check_out(shopper))

    # Then the fourth answers 429 with Retry-After, and made no order
    assert [a.status_code for a in answers] == [303, 303, 303, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 601
    assert "started many checkouts" in answers[-1].content.decode()
    assert Order.objects.filter(email="ada@example.com").count() == 3
    # and another browser from the same address is limited by the address alone
    settings.CHECKOUTS_PER_ADDRESS = 3
    other = Client()
    other.post("/cart/add/", {"variant": red, "quantity": 1})
    assert check_out(other).status_code == 429
    cache.clear()
