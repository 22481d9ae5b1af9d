import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache

from cart.models import SavedCart

JSON = {"HTTP_ACCEPT": "application/json"}


def session_items(client):
    return client.session.get("cart", {}).get("items", {})


def api_get(client):
    response = client.get("/cart/api/")
    assert response.status_code == 200
    return response.json()


def api_post(client, payload, content_type="application/json"):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post("/cart/api/", body, content_type=content_type)


@pytest.fixture
def filled(client, wines):
    """A client whose cart holds 2 × red."""
    response = client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    assert response.status_code == 302
    return client


def test_add_without_javascript_redirects_back_with_a_message(client, wines):
    wine_url = wines["red"].page.url

    response = client.post(
        "/cart/add/",
        {"variant": wines["red"].pk, "quantity": "2", "next": wine_url},
        follow=True,
    )

    assert response.redirect_chain == [(wine_url, 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Added 2 × Cart Red (75 cl bottle) to your cart."
    ]
    assert session_items(client) == {str(wines["red"].pk): 2}
    assert "data-cart-count>2<" in response.content.decode()


def test_add_refuses_to_redirect_off_site(client, wines):
    response = client.post(
        "/cart/add/",
        {"variant": wines["red"].pk, "quantity": 1, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/cart/"


def test_add_answers_json_when_asked(client, wines):
    response = client.post(
        "/cart/add/", {"variant": wines["white"].pk, "quantity": 1}, **JSON
    )

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Added 1 × Cart White (75 cl bottle) to your cart."
    assert body["count"] == 1
    assert body["total"] == "25.50"


def test_cart_page_lists_lines_and_totals(filled, wines):
    filled.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})

    response = filled.get("/cart/")

    assert response.status_code == 200
    html = response.content.decode()
    lines = response.context["lines"]
    assert [(line.variant.sku, line.quantity) for line in lines] == [
        ("CART-RED", 2),
        ("CART-WHITE", 1),
    ]
    assert "$20.00" in html and "$25.50" in html
    assert "<dd data-cart-total>$45.50</dd>" in html
    assert "data-cart-count>3<" in html


def test_update_remove_and_clear(filled, wines):
    filled.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})

    update = filled.post("/cart/update/", {"variant": wines["red"].pk, "quantity": 5})
    assert update.status_code == 302 and update["Location"] == "/cart/"
    assert session_items(filled) == {str(wines["red"].pk): 5, str(wines["white"].pk): 1}

    removed = filled.post("/cart/remove/", {"variant": wines["white"].pk}, follow=True)
    # Messages not shown yet (no page was read in between) arrive together.
    assert [str(m) for m in removed.context["messages"]][-2:] == [
        "Updated Cart Red (75 cl bottle) in your cart.",
        "Removed Cart White (75 cl bottle) from your cart.",
    ]
    assert session_items(filled) == {str(wines["red"].pk): 5}

    filled.post("/cart/clear/")
    assert session_items(filled) == {}


BAD_FORMS = [
    ("/cart/add/", {"quantity": 1}, {"variant": ["Choose a wine to add."]}),
    ("/cart/add/", {"variant": "red"}, {"quantity": ["Enter a quantity."]}),
    (
        "/cart/add/",
        {"variant": 987654, "quantity": 1},
        {"variant": ["That is not a wine we sell."]},
    ),
    (
        "/cart/add/",
        {"variant": "inactive", "quantity": 1},
        {"variant": ["Cart White (Half) is no longer available."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": 0},
        {"quantity": ["The quantity must be at least 1."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": -1},
        {"quantity": ["The quantity must be at least 1."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": "9"},
        {
            "quantity": [
                "Only 10 of Cart Red (75 cl bottle) left. "
                "You already have 2 in your cart."
            ]
        },
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": "25"},
        {"quantity": ["You can order at most 24 of one item."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": "two"},
        {"quantity": ["The quantity must be a whole number."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": "1.0"},
        {"quantity": ["The quantity must be a whole number."]},
    ),
    (
        "/cart/add/",
        {"variant": "red", "quantity": "1" * 400},
        {"quantity": ["You can order at most 24 of one item."]},
    ),
    (
        "/cart/update/",
        {"variant": "red", "quantity": 0},
        {"quantity": ["The quantity must be at least 1."]},
    ),
    (
        "/cart/update/",
        {"variant": "white", "quantity": 1},
        {"variant": ["That wine is not in your cart."]},
    ),
    (
        "/cart/update/",
        {"variant": "red", "quantity": 11},
        {"quantity": ["Only 10 of Cart Red (75 cl bottle) left."]},
    ),
    ("/cart/update/", {"variant": "red"}, {"quantity": ["Enter a quantity."]}),
    ("/cart/remove/", {}, {"variant": ["Choose a wine to add."]}),
    (
        "/cart/remove/",
        {"variant": "white"},
        {"variant": ["That wine is not in your cart."]},
    ),
    (
        "/cart/remove/",
        {"variant": "1; DROP TABLE"},
        {"variant": ["That is not a wine we sell."]},
    ),
]


def _resolve(data, wines):
    return {
        key: wines[value].pk if key == "variant" and value in wines else value
        for key, value in data.items()
    }


@pytest.mark.parametrize("url, data, errors", BAD_FORMS)
def test_bad_json_form_posts_answer_400_and_change_nothing(
    filled, wines, url, data, errors
):
    before = session_items(filled)

    response = filled.post(url, _resolve(data, wines), **JSON)

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert session_items(filled) == before


@pytest.mark.parametrize("url, data, errors", BAD_FORMS)
def test_bad_html_form_posts_show_the_error_and_change_nothing(
    filled, wines, url, data, errors
):
    before = session_items(filled)

    response = filled.post(url, _resolve(data, wines))

    assert response.status_code == 400
    assert response.context["errors"] == errors
    html = response.content.decode()
    for message in errors.values():
        assert f"<li>{message[0]}</li>".replace("'", "&#x27;") in html
    assert session_items(filled) == before


@pytest.mark.parametrize("action", ["add", "update", "remove", "clear", "coupon"])
def test_a_get_on_a_cart_form_url_shows_the_cart_page(client, action):
    # A refused form is shown at its own URL; reloading it must not be a 405
    response = client.get(f"/cart/{action}/")

    assert (response.status_code, response["Location"]) == (302, "/cart/")
    assert client.put(f"/cart/{action}/").status_code == 405


def test_api_get_shape(filled, wines):
    body = api_get(filled)

    assert body == {
        "items": [
            {
                "variant": wines["red"].pk,
                "sku": "CART-RED",
                "name": "Cart Red 2020",
                "label": "75 cl bottle",
                "quantity": 2,
                "unit_price": "10.00",
                "line_total": "20.00",
                "url": wines["red"].page.url,
            }
        ],
        "subtotal": "20.00",
        "discount": "0.00",
        "total": "20.00",
        "currency": "usd",
        "coupon": None,
        "count": 2,
        "version": body["version"],
    }
    assert len(body["version"]) == 16


def test_api_post_replaces_the_cart_and_ignores_client_prices(filled, wines):
    version = api_get(filled)["version"]

    response = api_post(
        filled,
        {
            "version": version,
            "items": {
                str(wines["white"].pk): {"quantity": 3, "unit_price": "0.01"},
                str(wines["red"].pk): {"quantity": 1, "line_total": "0"},
            },
            "total": "0.01",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert [(i["sku"], i["quantity"], i["line_total"]) for i in body["items"]] == [
        ("CART-WHITE", 3, "76.50"),
        ("CART-RED", 1, "10.00"),
    ]
    assert body["total"] == "86.50"
    assert body["version"] != version


def test_api_post_with_a_stale_version_answers_409_with_the_current_cart(filled, wines):
    stale = api_get(filled)["version"]
    filled.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    current = api_get(filled)

    response = api_post(filled, {"version": stale, "items": {}})

    assert response.status_code == 409
    assert response.json()["cart"] == current
    assert session_items(filled) == {str(wines["red"].pk): 2, str(wines["white"].pk): 1}


@pytest.mark.parametrize(
    "body, content_type, errors",
    [
        ("{not json", "application/json", {"body": ["The body is not valid JSON."]}),
        (
            "[1, 2]",
            "application/json",
            {"body": ['Send an object with "items" and "version".']},
        ),
        (
            '"text"',
            "application/json",
            {"body": ['Send an object with "items" and "version".']},
        ),
        (
            "items=1",
            "application/x-www-form-urlencoded",
            {"content_type": ["Send the cart as application/json."]},
        ),
        (
            '{"items": {}}',
            "text/plain",
            {"content_type": ["Send the cart as application/json."]},
        ),
        (
            '{"items": {}}',
            "application/json",
            {"version": ["Send the version of the cart you last read."]},
        ),
        (b"\xff\xfe", "application/json", {"body": ["The body is not valid JSON."]}),
        (
            '{"version": 5, "items": {}}',
            "application/json",
            {"version": ["Send the version of the cart you last read."]},
        ),
        (
            "{" + '"a": 1,' * 20000 + '"b": 2}',
            "application/json",
            {"body": ["The request is too large."]},
        ),
    ],
)
def test_api_rejects_malformed_requests(filled, body, content_type, errors):
    before = session_items(filled)

    response = api_post(filled, body, content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert session_items(filled) == before


@pytest.mark.parametrize(
    "items, errors",
    [
        ([1, 2], {"items": ['Send "items" as an object of variant id to quantity.']}),
        (None, {"items": ['Send "items" as an object of variant id to quantity.']}),
        ({"red": {"quantity": 0}}, {"items.red": ["The quantity must be at least 1."]}),
        (
            {"red": {"quantity": -2}},
            {"items.red": ["The quantity must be at least 1."]},
        ),
        (
            {"red": {"quantity": 2.5}},
            {"items.red": ["The quantity must be a whole number."]},
        ),
        (
            {"red": {"quantity": True}},
            {"items.red": ["The quantity must be a whole number."]},
        ),
        (
            {"red": {"quantity": 10**30}},
            {"items.red": ["You can order at most 24 of one item."]},
        ),
        (
            {"red": {"quantity": 11}},
            {"items.red": ["Only 10 of Cart Red (75 cl bottle) left."]},
        ),
        ({"red": {}}, {"items.red": ['Send each line as {"quantity": n}.']}),
        ({"red": 3}, {"items.red": ['Send each line as {"quantity": n}.']}),
        (
            {"inactive": {"quantity": 1}},
            {"items.inactive": ["Cart White is no longer available."]},
        ),
        (
            {"unpublished": {"quantity": 1}},
            {"items.unpublished": ["Cart Hidden is no longer available."]},
        ),
        (
            {"sold_out": {"quantity": 1}},
            {"items.sold_out": ["Cart Gone (75 cl bottle) is sold out."]},
        ),
        (
            {"424242": {"quantity": 1}},
            {"items.424242": ["That is not a wine we sell."]},
        ),
        ({"0": {"quantity": 1}}, {"items.0": ["That is not a wine we sell."]}),
    ],
)
def test_api_rejects_bad_items_and_changes_nothing(filled, wines, items, errors):
    def resolve(key):
        return str(wines[key].pk) if key in wines else key

    if isinstance(items, dict):
        items = {resolve(key): value for key, value in items.items()}
    errors = {
        "items." + resolve(field.split(".", 1)[1]) if "." in field else field: value
        for field, value in errors.items()
    }
    before = session_items(filled)

    response = api_post(filled, {"version": api_get(filled)["version"], "items": items})

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert session_items(filled) == before


def test_api_accepts_a_quantity_written_as_digits(filled, wines):
    version = api_get(filled)["version"]

    response = api_post(
        filled, {"version": version, "items": {str(wines["red"].pk): {"quantity": "4"}}}
    )

    assert response.status_code == 200
    assert session_items(filled) == {str(wines["red"].pk): 4}


def test_reading_pages_never_creates_a_session(client, wines):
    assert client.get("/").status_code == 200
    assert client.get(wines["red"].page.url).status_code == 200
    assert client.get("/cart/").status_code == 200
    assert client.get("/cart/api/").json()["count"] == 0

    assert "sessionid" not in client.cookies
    assert Session.objects.count() == 0


def test_the_cart_survives_login_and_merges_an_earlier_one(client, wines):
    user = get_user_model().objects.create_user("shopper", password="pw-123456")
    SavedCart.objects.create(
        user=user, items={str(wines["red"].pk): 3, str(wines["white"].pk): 2}
    )
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 2})

    client.force_login(user)

    assert session_items(client) == {
        str(wines["white"].pk): 3,  # 2 + 2, capped by the 3 in stock
        str(wines["red"].pk): 3,
    }
    client.post("/cart/update/", {"variant": wines["red"].pk, "quantity": 1})
    assert SavedCart.objects.get(user=user).items == {
        str(wines["white"].pk): 3,
        str(wines["red"].pk): 1,
    }

    client.logout()
    assert session_items(client) == {}
    client.force_login(user)
    assert session_items(client) == {str(wines["white"].pk): 3, str(wines["red"].pk): 1}


def test_a_first_login_keeps_the_anonymous_cart_for_next_time(client, wines):
    user = get_user_model().objects.create_user("newbie", password="pw-123456")
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})

    client.force_login(user)

    assert SavedCart.objects.get(user=user).items == {str(wines["red"].pk): 2}


def test_a_form_sent_from_a_refused_forms_url_goes_back_to_the_cart_page(client, wines):
    # Given a refused coupon: the cart page with its error, shown at /cart/coupon/
    cache.clear()  # earlier tests' wrong guesses count against this address
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    refused = client.post("/cart/coupon/", {"code": "NOPE"})
    assert refused.status_code == 400

    for action in ("coupon", "add", "update", "remove", "clear", "api"):
        # When the next form is sent with a POST-only URL of the cart as Referer
        response = client.post(
            "/cart/update/",
            {"variant": wines["red"].pk, "quantity": 2},
            HTTP_REFERER=f"http://testserver/cart/{action}/",
        )

        # Then it goes back to a page a GET can show, not to a 405
        assert (response.status_code, response["Location"]) == (302, "/cart/")
    assert client.get("/cart/").status_code == 200


def test_a_form_goes_back_to_the_wine_page_it_was_sent_from(client, wines):
    wine_url = wines["red"].page.url

    response = client.post(
        "/cart/add/",
        {"variant": wines["red"].pk, "quantity": 1},
        HTTP_REFERER=f"http://testserver{wine_url}",
    )

    assert response["Location"] == f"http://testserver{wine_url}"


def test_a_refused_change_leaves_the_accounts_saved_cart_as_it_was(client, wines):
    # Given a signed-in shopper with one red, kept with their account
    user = get_user_model().objects.create_user("keeper", password="pw-123456")
    client.force_login(user)
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    version = client.get("/cart/api/").json()["version"]

    # When the API replaces the cart along with a code that is refused
    response = client.post(
        "/cart/api/",
        {"items": {str(wines["white"].pk): {"quantity": 2}}, "version": version}
        | {"coupon": "NOPE"},
        content_type="application/json",
    )

    # Then neither the session's cart nor the account's changed
    assert response.status_code == 400
    assert SavedCart.objects.get(user=user).items == {str(wines["red"].pk): 1}
    assert session_items(client) == {str(wines["red"].pk): 1}
