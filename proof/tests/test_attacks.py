"""Attacks refused: forged cross-site requests, other people's orders, client prices."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import URLResolver, get_resolver

from checkout.models import StripeEvent
from checkout.stripe_api import client as stripe_client
from checkout.tests.conftest import CONTACT, check_out, session_id_of
from coupons.models import Coupon
from orders.models import Order
from orders.status import OrderStatus
from stripe_emulator import payments, webhooks


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def filled_cart(wines, client=None):
    """A client with 2 × red (10.00) and 1 × white (25.50) in its cart."""
    client = client or Client()
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    client.post("/cart/add/", {"variant": wines["white"].pk, "quantity": 1})
    return client


def cart_of(client):
    body = Client(HTTP_COOKIE=client.cookies.output(header="", sep=";")).get(
        "/cart/api/"
    )
    return body.json()


# CSRF


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def test_only_the_webhook_one_click_unsubscribe_and_wagtails_api_are_csrf_exempt():
    exempt = {
        route
        for route, view in walk(get_resolver().url_patterns)
        if getattr(view, "csrf_exempt", False)
    }

    # Wagtail's admin API is Django REST framework's: it checks CSRF itself for
    # signed-in sessions (probed below), and only reads except for page actions.
    # A back-in-stock alert's one-click unsubscribe (RFC 8058: mail apps POST it
    # with no page or cookie) is authorised by its secret token and only deletes
    # that alert.
    assert {r for r in exempt if not r.startswith("admin/api/main/")} == {
        "checkout/webhook/",
        "cart/alerts/<str:token>/unsubscribe/",
    }


def forged(client):
    """The same browser (cookies and all) posting from another site: no token."""
    attacker = Client(enforce_csrf_checks=True)
    attacker.cookies = client.cookies
    return attacker


@pytest.mark.django_db
def test_state_changing_shop_endpoints_refuse_a_post_without_a_token(wines):
    Coupon.objects.create(code="TENOFF", kind="percent", value=10)
    shopper = filled_cart(wines)
    before = cart_of(shopper)
    attacker = forged(shopper)
    variant = wines["red"].pk

    posts = [
        ("/cart/add/", {"variant": variant, "quantity": 1}),
        ("/cart/update/", {"variant": variant, "quantity": 5}),
        ("/cart/remove/", {"variant": variant}),
        ("/cart/clear/", {}),
        ("/cart/coupon/", {"code": "TENOFF"}),
        ("/checkout/", CONTACT),
    ]
    for url, data in posts:
        assert attacker.post(url, data).status_code == 403, url
    api = attacker.post(
        "/cart/api/",
        {"items": {str(variant): {"quantity": 1}}, "version": before["version"]},
        content_type="application/json",
    )
    assert api.status_code == 403

    assert cart_of(shopper) == before
    assert before["coupon"] is None
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_admin_actions_refuse_a_post_without_a_token(staff_client, wines):
    page = wines["red"].page
    editor = staff_client("Editors")
    merchant = staff_client("Merchants")
    shopper = filled_cart(wines)
    order = Order.objects.get(stripe_session_id=session_id_of(check_out(shopper)))

    probes = [
        (Client(enforce_csrf_checks=True), "/admin/login/", {"username": "x"}),
        (forged(editor), f"/admin/pages/{page.pk}/unpublish/", {}),
        (forged(editor), f"/admin/pages/{page.pk}/delete/", {}),
        (forged(editor), f"/admin/pages/{page.pk}/edit/", {"title": "Pwned"}),
        (forged(merchant), "/admin/coupons/new/", {"code": "FREE", "value": 100}),
        (forged(merchant), f"/admin/orders/refund/{order.pk}/", {}),
        (forged(merchant), f"/admin/orders/clear_attention/{order.pk}/", {}),
        (forged(editor), "/admin/logout/", {}),
    ]
    for attacker, url, data in probes:
        assert attacker.post(url, data).status_code == 403, url
    # Wagtail's admin API (Django REST framework) checks the token of a session.
    api = forged(editor).post(
        f"/admin/api/main/pages/{page.pk}/action/unpublish/",
        {},
        content_type="application/json",
    )
    assert api.status_code == 403

    page.refresh_from_db()
    assert (page.live, page.title) == (True, "Cart Red")
    assert not Coupon.objects.filter(code="FREE").exists()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert editor.get("/admin/").status_code == 200  # still signed in


@pytest.mark.django_db
def test_the_webhook_needs_no_csrf_token_only_stripes_signature(wines):
    shopper = filled_cart(wines)
    session_id = session_id_of(check_out(shopper))
    payments.pay(session_id, "4242424242424242")
    body = webhooks.payload(webhooks.pending_events()[0])
    stripe = Client(enforce_csrf_checks=True)

    response = stripe.post(
        "/checkout/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=webhooks.sign(body),
    )

    assert response.status_code == 200
    assert Order.objects.get(stripe_session_id=session_id).status == OrderStatus.PAID


# IDOR


@pytest.fixture
def two_orders(wines, django_capture_on_commit_callbacks):
    """Ada's paid order (with its invoice) and Bob's pending one, each in a client."""
    ada = filled_cart(wines)
    ada_session = session_id_of(check_out(ada))
    payments.pay(ada_session, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    ada.get(f"/checkout/success/?session_id={ada_session}")
    bob = Client()
    bob.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    check_out(bob, email="bob@example.net", name="Bob Prober")
    paid = Order.objects.get(stripe_session_id=ada_session)
    assert paid.invoice.status == "ready"
    return ada, paid, bob, Order.objects.get(email="bob@example.net")


def leaks(response, order):
    text = b"".join(response.streaming_content) if response.streaming else b""
    text += b"" if response.streaming else response.content
    secrets = (order.email, order.name, order.reference, order.token)
    return [s for s in secrets if s.encode() in text or s.lower().encode() in text]


def test_order_pages_and_invoices_answer_404_to_anything_but_the_token(
    two_orders, staff_client
):
    ada, paid, bob, pending = two_orders
    number = paid.invoice.number
    token = paid.token
    guesses = [
        str(paid.pk),
        str(paid.pk + 1),
        str(pending.pk),
        "1",
        "0",
        paid.reference,
        paid.reference.lower(),
        token[:-1],
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        paid.stripe_session_id,
        paid.stripe_payment_intent_id,
        number,
        "%2e%2e",
        "null",
    ]
    editor = staff_client("Editors")
    for prober in (bob, Client(), editor):
        for guess in guesses:
            for url in (f"/orders/{guess}/", f"/orders/{guess}/invoice.pdf"):
                response = prober.get(url)
                assert response.status_code == 404, url
                assert leaks(response, paid) == [], url
        # The merchants' download is for merchants only
        response = prober.get(f"/orders/invoices/{number}.pdf")
        assert response.status_code == 404
        assert leaks(response, paid) == []
        listing = prober.get("/orders/")
        assert listing.status_code == 200
        assert leaks(listing, paid) == []
    assert pending.reference in bob.get("/orders/").content.decode()

    # The link itself still works for whoever holds it
    assert Client().get(f"/orders/{token}/").status_code == 200
    assert Client().get(f"/orders/{token}/invoice.pdf").status_code == 200
    assert ada.get("/orders/").content.decode().count(paid.reference) >= 1


def test_admin_urls_send_strangers_to_the_login_and_editors_away(
    two_orders, staff_client
):
    ada, paid, bob, pending = two_orders
    urls = [
        "/admin/orders/",
        f"/admin/orders/inspect/{paid.pk}/",
        f"/admin/orders/inspect/{pending.pk}/",
        "/admin/orders/?export=csv",
        f"/admin/orders/refund/{paid.pk}/",
        "/admin/stripe-events/",
        f"/admin/stripe-events/inspect/{StripeEvent.objects.get().pk}/",
        "/admin/customers/",
        "/admin/coupons/",
    ]
    editor = staff_client("Editors")
    for url in urls:
        for prober in (bob, Client()):
            response = prober.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/?next="), url
        # An editor is signed in but not allowed: sent to the dashboard, no data
        response = editor.get(url, follow=True)
        assert response.redirect_chain == [("/admin/", 302)], url
        assert leaks(response, paid) == [], url
        assert leaks(response, pending) == [], url
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID

    merchant = staff_client("Merchants")
    assert merchant.get(f"/admin/orders/inspect/{paid.pk}/").status_code == 200
    assert (
        Group.objects.get(name="Editors")
        .permissions.filter(codename__in=["view_order", "view_invoice", "refund_order"])
        .count()
        == 0
    )


# Price tampering


def stripe_request(session_id):
    """What Stripe was asked to charge for this Checkout Session."""
    sessions = stripe_client().v1.checkout.sessions
    session = sessions.retrieve(session_id)
    items = sessions.line_items.list(session_id)
    return {
        "currency": session.currency,
        "amount_subtotal": session.amount_subtotal,
        "amount_discount": session.total_details.amount_discount,
        "amount_total": session.amount_total,
        "lines": sorted(
            (item.description, item.price.unit_amount, item.quantity)
            for item in items.data
        ),
    }


@pytest.mark.django_db
def test_prices_totals_currency_and_discounts_from_the_client_change_nothing(wines):
    Coupon.objects.create(code="TENOFF", kind="percent", value=10)
    red, white = wines["red"].pk, wines["white"].pk

    # Given an honest shopper's checkout of 2 × red, 1 × white, with TENOFF
    honest = filled_cart(wines)
    honest.post("/cart/coupon/", {"code": "TENOFF"})
    expected = stripe_request(session_id_of(check_out(honest)))

    # When another shopper buys the same, sending prices wherever a form or the
    # API would take them
    tamper = {
        "price": "0.01",
        "unit_price": "0.01",
        "unit_amount": "1",
        "total": "0.01",
        "subtotal": "0.01",
        "discount": "45.49",
        "amount": "1",
        "amount_total": "1",
        "currency": "jpy",
    }
    cheat = Client()
    cheat.post("/cart/add/", {"variant": red, "quantity": 1, **tamper})
    version = cheat.get("/cart/api/").json()["version"]
    response = cheat.post(
        "/cart/api/?currency=jpy&total=0.01",
        {
            "items": {
                str(red): {"quantity": 2, **tamper, "line_total": "0.02"},
                str(white): {"quantity": 1, **tamper},
            },
            "version": version,
            "coupon": "tenoff",
            **tamper,
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    cheat.post(
        "/cart/coupon/",
        {"code": "TENOFF", "kind": "fixed", "value": "45.49", "percent": "100"},
    )
    placed = cheat.post(
        "/checkout/?total=0.01&currency=jpy",
        {
            **CONTACT,
            **tamper,
            "coupon_code": "FREE100",
            "line_items[0][price_data][unit_amount]": "1",
            "discounts[0][coupon]": "FREE100",
        },
    )

    # Then Stripe is asked for exactly what the honest shopper pays
    assert stripe_request(session_id_of(placed)) == expected
    assert expected == {
        "currency": "usd",
        "amount_subtotal": 4550,
        "amount_discount": 455,
        "amount_total": 4095,
        "lines": sorted(
            [
                ("Cart Red 2020 – 75 cl bottle", 1000, 2),
                ("Cart White 2020 – 75 cl bottle", 2550, 1),
            ]
        ),
    }
    order = Order.objects.get(stripe_session_id=session_id_of(placed))
    assert (order.currency, order.subtotal, order.discount, order.total) == (
        "usd",
        Decimal("45.50"),
        Decimal("4.55"),
        Decimal("40.95"),
    )
    assert json.loads(response.content)["total"] == "40.95"
