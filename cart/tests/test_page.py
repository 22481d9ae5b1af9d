"""The cart page made from stencils kept per catalogue version (cart/page.py,
home/frame.py): the same page as a fresh render, each shopper's own values, and a
change to the catalogue shown at once."""

import re
from decimal import Decimal

from django.middleware.csrf import _unmask_cipher_token
from django.test import Client

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
QUANTITY = re.compile(r'name="quantity" value="(\d+)" min="1" max="(\d+)"')


def page(client):
    response = client.get("/cart/")
    assert response.status_code == 200
    return response


def without_tokens(html):
    return TOKEN.sub('name="csrfmiddlewaretoken" value=""', html)


def shopper_with(wines, *lines):
    shopper = Client(enforce_csrf_checks=True)
    token = TOKEN.search(shopper.get(wines["red"].page.url).content.decode())
    for name, quantity in lines:
        added = shopper.post(
            "/cart/add/",
            {
                "variant": wines[name].pk,
                "quantity": quantity,
                "csrfmiddlewaretoken": token[1],
            },
        )
        assert added.status_code == 302
    return shopper


def test_a_repeat_visit_renders_only_the_carts_own_content(page_cache, client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    first = page(client)  # with its message
    page(client)  # the first without one (the empty messages are made once)

    again = page(client)

    # The frame, each line and the delivery form come from their stencils
    assert "base.html" in [template.name for template in first.templates]
    assert [template.name for template in again.templates] == ["cart/cart.html"]
    assert 'data-label="Total">$20.00<' in again.content.decode()


def test_the_page_from_stencils_is_the_page_rendered_afresh(
    page_cache, settings, client, wines
):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    page(client)  # makes the stencils
    from_stencils = page(client).content.decode()

    settings.CATALOGUE_CACHE_SECONDS = 0
    afresh = page(client).content.decode()

    assert without_tokens(from_stencils) == without_tokens(afresh)
    assert QUANTITY.findall(afresh) == [("2", "10"), ("1", "3")]
    assert "<title>Your cart · " in afresh


def test_two_shoppers_get_their_own_quantities_totals_and_tokens(page_cache, wines):
    alice = shopper_with(wines, ("red", 2))
    bob = shopper_with(wines, ("red", 5), ("white", 1))
    page(alice)  # the red wine's line is made for Alice

    alice_page = page(alice).content.decode()
    bob_page = page(bob).content.decode()

    assert QUANTITY.findall(alice_page) == [("2", "10")]
    assert QUANTITY.findall(bob_page) == [("5", "10"), ("1", "3")]
    assert 'data-label="Total">$20.00<' in alice_page
    assert 'data-label="Total">$50.00<' in bob_page
    assert re.search(r"data-cart-count>2<", alice_page)
    assert re.search(r"data-cart-count>6<", bob_page)
    assert "$20.00" not in bob_page
    # Every form carries the shopper's own token, which the shop accepts
    for shopper, html in ((alice, alice_page), (bob, bob_page)):
        secret = shopper.cookies["csrftoken"].value
        assert {_unmask_cipher_token(t) for t in TOKEN.findall(html)} == {secret}
    updated = bob.post(
        "/cart/update/",
        {
            "variant": wines["red"].pk,
            "quantity": 3,
            "csrfmiddlewaretoken": TOKEN.search(bob_page)[1],
        },
    )
    assert updated.status_code == 302
    assert QUANTITY.findall(page(bob).content.decode())[0] == ("3", "10")
    assert 'data-label="Total">$20.00<' in page(alice).content.decode()


def test_a_published_change_to_a_wine_shows_on_the_cart_page_at_once(
    page_cache, client, wines
):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    page(client)

    wine = wines["red"].page.specific
    wine.title = "Cart Red Reserve"
    variant = wine.variants.get()
    variant.price = Decimal("11.00")
    wine.variants = [variant]
    wine.save_revision().publish()

    html = page(client).content.decode()
    assert "Cart Red Reserve" in html
    assert 'data-label="Price">$11.00<' in html
    assert 'data-label="Total">$22.00<' in html


def test_a_notice_shows_once_on_the_page_its_frame_came_from(page_cache, client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    page(client)
    told = page(client).content.decode()
    assert "Added 2 × Cart Red 2020" not in told  # shown on the first page only

    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    shown = page(client).content.decode()
    after = page(client).content.decode()

    assert "Added 1 × Cart White" in shown
    assert "Added 1 × Cart White" not in after


def test_an_editor_gets_the_user_bar_and_shoppers_never_do(
    page_cache, client, wines, django_user_model
):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    editor = Client()
    editor.force_login(
        django_user_model.objects.create_superuser("ed", "ed@example.com", "pw")
    )
    editor.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})

    editors_page = page(editor).content.decode()
    shoppers_page = page(client).content.decode()
    editors_again = page(editor).content.decode()

    assert "wagtail-userbar" in editors_page
    assert "wagtail-userbar" in editors_again
    assert "wagtail-userbar" not in shoppers_page
