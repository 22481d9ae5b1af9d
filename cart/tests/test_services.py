from decimal import Decimal

import pytest

from cart.services import MAX_LINE_QUANTITY, Cart, CartConflict, CartError


def fresh(request):
    """The cart as the next request sees it: read again from the session."""
    return Cart(request)


def test_add_keeps_only_quantities_in_the_session(cart_request, wines):
    cart = Cart(cart_request)

    cart.add(str(wines["red"].pk), "2")
    cart.add(wines["white"].pk, 1)
    cart.add(str(wines["red"].pk), "1")

    assert cart_request.session["cart"] == {
        "id": cart.id,
        "items": {str(wines["red"].pk): 3, str(wines["white"].pk): 1},
    }
    assert len(cart.id) == 32
    cart = fresh(cart_request)
    assert cart.count == 4
    assert [(line.variant.sku, line.quantity, line.total) for line in cart.lines] == [
        ("CART-RED", 3, Decimal("30.00")),
        ("CART-WHITE", 1, Decimal("25.50")),
    ]
    assert cart.subtotal == Decimal("55.50")
    assert cart.total == Decimal("55.50")


def test_prices_come_from_the_database_when_read(cart_request, wines):
    Cart(cart_request).add(wines["red"].pk, 2)
    wines["red"].price = Decimal("12.25")
    wines["red"].save()

    cart = fresh(cart_request)

    assert cart.lines[0].unit_price == Decimal("12.25")
    assert cart.total == Decimal("24.50")


def test_version_changes_only_with_the_contents(cart_request, wines):
    cart = Cart(cart_request)
    empty = cart.version
    cart.add(wines["red"].pk, 1)
    one = cart.version
    cart.update(wines["red"].pk, 1)  # same quantity: nothing really changed

    assert cart.version == one != empty
    cart.remove(wines["red"].pk)
    assert cart.version == empty


@pytest.mark.parametrize(
    "variant, quantity, errors",
    [
        (None, "1", {"variant": ["Choose a wine to add."]}),
        ("999999", "1", {"variant": ["That is not a wine we sell."]}),
        ("abc", "1", {"variant": ["That is not a wine we sell."]}),
        ("red", None, {"quantity": ["Enter a quantity."]}),
        ("red", "0", {"quantity": ["The quantity must be at least 1."]}),
        ("red", "-3", {"quantity": ["The quantity must be at least 1."]}),
        ("red", "1.5", {"quantity": ["The quantity must be a whole number."]}),
        ("red", "2e1", {"quantity": ["The quantity must be a whole number."]}),
        ("red", "9" * 5000, {"quantity": ["You can order at most 24 of one item."]}),
        ("red", "11", {"quantity": ["Only 10 of Cart Red (75 cl bottle) left."]}),
        ("inactive", "1", {"variant": ["Cart White (Half) is no longer available."]}),
        (
            "unpublished",
            "1",
            {"variant": ["Cart Hidden (75 cl bottle) is no longer available."]},
        ),
        ("sold_out", "1", {"quantity": ["Cart Gone (75 cl bottle) is sold out."]}),
    ],
)
def test_bad_add_is_refused_and_changes_nothing(
    cart_request, wines, variant, quantity, errors
):
    cart = Cart(cart_request)
    cart.add(wines["white"].pk, 1)
    before = dict(cart_request.session["cart"]["items"])
    variant_id = str(wines[variant].pk) if variant in wines else variant

    with pytest.raises(CartError) as refused:
        cart.add(variant_id, quantity)

    assert refused.value.errors == errors
    assert cart_request.session["cart"]["items"] == before
    assert fresh(cart_request).items == before


def test_adding_past_stock_says_what_is_already_in_the_cart(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["white"].pk, 2)

    with pytest.raises(CartError) as refused:
        cart.add(wines["white"].pk, 2)

    assert refused.value.errors == {
        "quantity": [
            "Only 3 of Cart White (75 cl bottle) left. You already have 2 in your cart."
        ]
    }
    assert cart.items == {str(wines["white"].pk): 2}


def test_per_line_cap(cart_request, wines):
    wines["red"].stock = 500
    wines["red"].save()
    cart = Cart(cart_request)

    cart.add(wines["red"].pk, MAX_LINE_QUANTITY)
    with pytest.raises(CartError) as refused:
        cart.add(wines["red"].pk, 1)

    assert refused.value.errors == {
        "quantity": ["You can order at most 24 of one item."]
    }
    assert cart.count == MAX_LINE_QUANTITY


def test_update_and_remove_need_the_line_in_the_cart(cart_request, wines):
    cart = Cart(cart_request)

    with pytest.raises(CartError) as update:
        cart.update(wines["red"].pk, 2)
    with pytest.raises(CartError) as remove:
        cart.remove(wines["red"].pk)

    assert update.value.errors == {"variant": ["That wine is not in your cart."]}
    assert remove.value.errors == {"variant": ["That wine is not in your cart."]}
    assert "cart" not in cart_request.session


def test_lines_that_can_no_longer_be_bought_leave_with_a_notice(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["red"].pk, 5)
    cart.add(wines["white"].pk, 3)
    wines["red"].page.unpublish()
    wines["white"].stock = 1
    wines["white"].save()

    cart = fresh(cart_request)

    assert [(line.variant.sku, line.quantity) for line in cart.lines] == [
        ("CART-WHITE", 1)
    ]
    assert cart.notices == [
        "Cart Red (75 cl bottle) is no longer available and was removed from your "
        "cart.",
        "Only 1 of Cart White (75 cl bottle) left: your cart now holds 1.",
    ]
    # Reading stored nothing; tidying (the cart page's explicit change) stores it
    assert cart_request.session["cart"]["items"] == {
        str(wines["red"].pk): 5,
        str(wines["white"].pk): 3,
    }
    cart.tidy()
    assert cart_request.session["cart"]["items"] == {str(wines["white"].pk): 1}
    assert not fresh(cart_request).untidy


def test_sold_out_and_inactive_lines_leave(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["red"].pk, 1)
    cart.add(wines["white"].pk, 1)
    wines["red"].stock = 0
    wines["red"].save()
    wines["white"].active = False
    wines["white"].save()

    cart = fresh(cart_request)

    assert cart.lines == []
    assert cart.notices == [
        "Cart Red (75 cl bottle) sold out and was removed from your cart.",
        "Cart White (75 cl bottle) is no longer available and was removed from your "
        "cart.",
    ]
    assert cart.count == 0


def test_replace_sets_the_whole_cart(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["red"].pk, 1)

    cart.replace(
        {str(wines["white"].pk): {"quantity": 2, "unit_price": "0.01"}}, cart.version
    )

    assert fresh(cart_request).items == {str(wines["white"].pk): 2}
    assert fresh(cart_request).total == Decimal("51.00")


def test_replace_with_a_stale_version_is_a_conflict(cart_request, wines):
    cart = Cart(cart_request)
    stale = cart.version
    cart.add(wines["red"].pk, 1)

    with pytest.raises(CartConflict):
        cart.replace({str(wines["white"].pk): {"quantity": 1}}, stale)

    assert cart.items == {str(wines["red"].pk): 1}


def test_replace_is_all_or_nothing(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["red"].pk, 1)

    with pytest.raises(CartError) as refused:
        cart.replace(
            {
                str(wines["white"].pk): {"quantity": 2},
                str(wines["sold_out"].pk): {"quantity": 1},
                "x": {"quantity": 1},
                str(wines["red"].pk): {"quantity": 1.5},
            },
            cart.version,
        )

    assert refused.value.errors == {
        "items.x": ["That is not a wine we sell."],
        f"items.{wines['red'].pk}": ["The quantity must be a whole number."],
    }
    assert cart.items == {str(wines["red"].pk): 1}


def test_merge_adds_an_earlier_cart_capped_by_stock(cart_request, wines):
    cart = Cart(cart_request)
    cart.add(wines["white"].pk, 2)

    cart.merge(
        {
            str(wines["white"].pk): 2,
            str(wines["red"].pk): 4,
            str(wines["unpublished"].pk): 1,
        }
    )

    assert cart.items == {str(wines["white"].pk): 3, str(wines["red"].pk): 4}


def test_reading_a_cart_never_writes_the_session(cart_request, wines):
    # Given a cart whose lines, coupon and paid order all need tidying
    cart = Cart(cart_request)
    cart.add(wines["red"].pk, 5)
    cart_request.session.modified = False
    wines["red"].page.unpublish()

    # When every reading property is read
    cart = fresh(cart_request)
    read = (cart.lines, cart.count, cart.total, cart.version, cart.checkout_key)
    cart.as_json()

    # Then the session is as it was, and the cart knows it has something to store
    assert read[0] == []
    assert cart_request.session.modified is False
    assert cart_request.session["cart"]["items"] == {str(wines["red"].pk): 5}
    assert cart.untidy is True
