"""Random, malformed and oversized posts to every public POST endpoint.

Each example runs in a savepoint that is rolled back, from the same starting point:
a shopper with 2 × red and 1 × white in the cart. Whatever is sent, the answer is
never a 5xx, and an answer of 4xx leaves the database and the session as they were.
Examples are derandomized so CI sees the same ones every run.
"""

import copy
import json
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from checkout.models import StripeEvent
from checkout.tests.conftest import CONTACT
from coupons.models import Coupon
from stripe_emulator import webhooks

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
WATCHED_MODELS = [
    "checkout.Order",
    "checkout.OrderLine",
    "checkout.OrderStatusChange",
    "checkout.StripeEvent",
    "checkout.Invoice",
    "checkout.Customer",
    "coupons.Coupon",
    "products.WineVariant",
    "cart.SavedCart",
    "stripe_emulator.EmulatedEvent",
]
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "24",
    "25",
    "999999999999999999999999",
    "1e3",
    "1.5",
    "NaN",
    "Infinity",
    "0x10",
    "٣",
    "null",
    "[]",
    "{}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
    "a\x00b",
    "\ud7ff\ue000",
    "x" * 5000,
]
scalars = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def snapshot(client):
    """Every row a shopper's request could touch, and this shopper's session."""
    rows = {
        label: list(apps.get_model(label).objects.order_by("pk").values())
        for label in WATCHED_MODELS
    }
    key = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    session = Session.objects.filter(session_key=key).first()
    rows["session"] = session.get_decoded() if session else None
    rows["sessions"] = Session.objects.count()
    return rows


@pytest.fixture
def shopper(wines):
    Coupon.objects.create(code="TENOFF", kind="percent", value=10)
    client = Client()
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    return client


@pytest.fixture
def attempt(shopper):
    """Send one request from the starting point; check it; roll it back."""
    cookies = copy.deepcopy(shopper.cookies)

    def send(post):
        cache.clear()  # coupon rate limits start afresh for every example
        shopper.cookies = copy.deepcopy(cookies)  # and no messages cookie is left
        with transaction.atomic():
            before = snapshot(shopper)
            response = post(shopper)
            status = response.status_code
            assert status < 500, (status, response.content[:300])
            if status >= 400:
                assert snapshot(shopper) == before, status
            transaction.set_rollback(True)
        return status

    return send


def form_fields(ids, names):
    """A form: known fields (and some others) with nasty, random or real values."""
    values = st.one_of(scalars, st.sampled_from(ids), st.lists(scalars, max_size=3))
    return st.dictionaries(
        st.one_of(st.sampled_from(names), st.text(max_size=12)), values, max_size=6
    )


def variant_ids(wines):
    return [str(variant.pk) for variant in wines.values()] + ["0", "-5", "999999"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, names",
    [
        ("/cart/add/", ["variant", "quantity", "next"]),
        ("/cart/update/", ["variant", "quantity", "next"]),
        ("/cart/remove/", ["variant", "next"]),
        ("/cart/coupon/", ["code", "remove", "next"]),
    ],
)
@FUZZ
@given(data=st.data())
def test_cart_forms(attempt, wines, url, names, data):
    fields = data.draw(form_fields(variant_ids(wines), names))
    accept = data.draw(st.sampled_from(["text/html", "application/json", "*/*"]))

    attempt(lambda client: client.post(url, fields, HTTP_ACCEPT=accept))


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_checkout_form(attempt, data):
    names = [*CONTACT, "total", "currency", "price"]
    changes = data.draw(
        st.dictionaries(st.sampled_from(names), scalars, min_size=1, max_size=4)
    )
    drop = data.draw(st.lists(st.sampled_from(list(CONTACT)), max_size=2))
    fields = {k: v for k, v in {**CONTACT, **changes}.items() if k not in drop}

    attempt(lambda client: client.post("/checkout/", fields))


def api_bodies(ids, version):
    quantity = st.one_of(json_values, st.integers(-5, 30), st.sampled_from(NASTY))
    items = st.dictionaries(
        st.one_of(st.sampled_from(ids), st.text(max_size=8)),
        st.one_of(st.fixed_dictionaries({"quantity": quantity}), json_values),
        max_size=5,
    )
    shaped = st.fixed_dictionaries(
        {
            "items": st.one_of(items, json_values),
            "version": st.one_of(st.just(version), json_values),
        },
        optional={"coupon": st.one_of(st.sampled_from(["tenoff", None]), json_values)},
    )
    return st.one_of(
        shaped.map(json.dumps).map(str.encode),
        json_values.map(json.dumps).map(str.encode),
        st.binary(max_size=300),
    )


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_cart_api(attempt, shopper, wines, data):
    version = shopper.get("/cart/api/").json()["version"]
    body = data.draw(api_bodies(variant_ids(wines), version))
    content_type = data.draw(
        st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded"]
        )
    )

    attempt(lambda client: client.post("/cart/api/", body, content_type=content_type))


EVENT_TYPES = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "customer.created",
]


def events():
    obj = st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.sampled_from(["cs_test_nope", "ch_1"]), json_values),
                "payment_intent": st.one_of(st.just("pi_nope"), json_values),
                "amount_refunded": json_values,
                "refunded": json_values,
            },
        ),
    )
    return st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "id": st.one_of(st.text(max_size=20), json_values),
                "type": st.one_of(st.sampled_from(EVENT_TYPES), json_values),
                "data": st.one_of(st.fixed_dictionaries({"object": obj}), json_values),
            }
        ),
    )


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_webhook(attempt, data):
    event = data.draw(events())
    body = data.draw(st.one_of(st.just(json.dumps(event)), st.binary(max_size=200)))
    text = body if isinstance(body, str) else body.decode("latin-1")
    signature = data.draw(
        st.one_of(
            st.just(webhooks.sign(text)),
            st.just(webhooks.sign(text, secret="whsec_forged")),
            st.text(max_size=80),
        )
    )

    def post(client):
        return Client().post(
            "/checkout/webhook/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    attempt(post)


# Oversized: more than Django reads, more fields than it parses, more than the API
# takes.


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/cart/add/",
        "/cart/update/",
        "/cart/remove/",
        "/cart/coupon/",
        "/checkout/",
        "/cart/api/",
        "/checkout/webhook/",
    ],
)
def test_oversized_posts_answer_400_and_change_nothing(attempt, url):
    huge = "x" * (3 * 1024 * 1024)
    many = "&".join(f"f{n}=1" for n in range(12_000))
    big_json = json.dumps({"items": {str(n): {"quantity": 1} for n in range(9_000)}})

    sends = [
        lambda c: c.post(url, {"variant": huge, "quantity": "1"}),
        lambda c: c.post(url, many, content_type="application/x-www-form-urlencoded"),
        lambda c: c.post(url, big_json, content_type="application/json"),
        lambda c: c.post(url, huge, content_type="application/json"),
    ]
    for send in sends:
        assert attempt(send) == 400


# What the fuzz found, pinned: each answered 500 before.


def signed_post(event):
    body = json.dumps(event)
    return Client().post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event, detail",
    [
        ({"id": None, "type": "x", "data": {}}, "id and type must be strings"),
        (
            {"id": "evt_1", "type": "checkout.session.completed", "data": {}},
            "data.object must be an object",
        ),
        (
            {
                "id": "evt_1",
                "type": "checkout.session.expired",
                "data": {"object": {"id": 7}},
            },
            "data.object.id must be a Checkout Session id",
        ),
        (
            {
                "id": "evt_1",
                "type": "charge.refunded",
                "data": {"object": {"payment_intent": "pi_1", "refunded": True}},
            },
            "data.object must be a charge with its refund",
        ),
    ],
)
def test_signed_payloads_without_an_events_shape_answer_400(event, detail):
    response = signed_post(event)

    assert response.status_code == 400
    assert response.json() == {"error": "Malformed event payload.", "detail": detail}
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_events_for_sessions_the_shop_did_not_make_are_recorded_and_ignored():
    event = {
        "id": "evt_foreign",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_another_integration"}},
    }

    response = signed_post(event)

    assert response.json() == {"received": True, "result": "ignored"}
    assert StripeEvent.objects.get().event_id == "evt_foreign"


@pytest.mark.django_db
def test_a_bare_word_as_next_is_a_relative_url_not_a_view_name(shopper, wines):
    response = shopper.post(
        "/cart/add/", {"variant": wines["red"].pk, "quantity": 1, "next": "0"}
    )

    assert (response.status_code, response["Location"]) == (302, "0")


@pytest.mark.django_db
def test_a_coupon_code_with_nul_is_just_not_valid(shopper):
    response = shopper.post(
        "/cart/coupon/", {"code": "a\x00b"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {"code": ["That code is not valid."]}}


# Hostile input: text Python accepts but nothing downstream can store (NUL, lone
# surrogates) and JSON nested past any use. One middleware answers 400
# (core/hostile.py).

GET_ENDPOINTS = [
    "/",
    "/wines/",
    "/wines/france/",
    "/search/",
    "/cart/",
    "/cart/api/",
    "/orders/",
    "/orders/{token}/",
    "/orders/{token}/invoice.pdf",
    "/checkout/success/",
    "/_stripe/pay/cs_test_x/",
    "/media/original_images/x.png",
    "/sitemap.xml",
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/orders/abc%00/",
        "/orders/abc%00/invoice.pdf",
        "/search/?q=shiraz%002013",
        "/_stripe/pay/cs_test_%00/",
        "/media/original_images/a%00.png",
        "/wines/?page=1%00",
        "/wines/?min_price=%00",
        "/cart/?x%00y=1",
        "/checkout/success/?session_id=cs_test_%00",
        "/wines/%00/",
    ],
)
def test_nul_in_a_path_or_query_answers_400_and_changes_nothing(attempt, url):
    assert attempt(lambda client: client.get(url)) == 400


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        '{"items": {}, "version": "v", "coupon": "\\ud800"}',
        '{"items": {"\\udfff": {"quantity": 1}}, "version": "v"}',
        '{"items": {}, "version": "v\\u0000"}',
        '{"items": ' + DEEP + ', "version": "v"}',
        '{"items": ' + "[" * 40 + "]" * 40 + ', "version": "v"}',
    ],
)
def test_hostile_json_to_the_cart_api_answers_400_and_changes_nothing(attempt, body):
    def send(client):
        return client.post("/cart/api/", body, content_type="application/json")

    assert attempt(send) == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        '{"id": "evt_1", "type": "checkout.session.\\udc00", "data": {"object": {}}}',
        '{"id": "evt_1", "type": "charge.refunded", "data": {"object": '
        '{"payment_intent": "pi_1", "amount_refunded": 1, "refunded": true, '
        '"billing_details": {"name": "Ada\\u0000"}}}}',
        '{"id": "evt_1", "type": "x", "data": {"object": {"deep": ' + DEEP + "}}}",
    ],
)
def test_hostile_json_in_a_signed_webhook_answers_400_and_records_nothing(
    attempt, body
):
    def send(client):
        return client.post(
            "/checkout/webhook/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
        )

    assert attempt(send) == 400
    assert StripeEvent.objects.count() == 0


# Bytes a client may send in a path segment or a query: anything, percent-encoded.
raw_text = st.one_of(
    st.binary(max_size=12).map(lambda raw: quote(raw, safe="")),
    st.sampled_from(["%00", "a%00b", "%ED%A0%80", "%C0%80", "%FF", "..%2F..%2F"]),
)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
@FUZZ
@given(data=st.data())
def test_get_endpoints_with_random_bytes(attempt, placed_token, endpoint, data):
    path = endpoint.format(token=placed_token)
    segment = data.draw(raw_text, label="segment")
    key, value = data.draw(raw_text, label="key"), data.draw(raw_text, label="value")
    if data.draw(st.booleans(), label="in path"):
        path = path.rstrip("/") + "/" + segment + "/"
    params = {"q", "page", "min_price", "max_price", "sort", "colour", "session_id"}
    key = data.draw(st.sampled_from(sorted(params)) | st.just(key), label="param")

    status = attempt(lambda client: client.get(f"{path}?{key}={value}"))

    assert status in (200, 301, 302, 400, 404, 405)


@pytest.fixture
def placed_token(shopper):
    from checkout.tests.conftest import check_out, session_id_of
    from orders.models import Order

    session_id = session_id_of(check_out(shopper))
    return Order.objects.get(stripe_session_id=session_id).token
