"""Shopper accounts (django-allauth) in the shop: sign up and verify, guest orders
claimed only by a verified email, orders on every device, no enumeration, rate
limits, CSRF, another account's orders hidden, closing an account."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from orders.models import Order

PASSWORD = "a long Cellar password 42"


def sign_up(client, email):
    return client.post(
        "/accounts/signup/",
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def confirmation_link(message):
    return re.search(r"http://[^/]+(/accounts/confirm-email/[^/\s]+/)", message.body)[1]


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


@pytest.fixture
def guest_order(wines, pay_for):
    order = pay_for([(wines["red"], 1)], email="Ada@Example.com")
    mail.outbox.clear()
    return order


def test_a_guest_order_is_claimed_when_the_email_is_verified_never_before(
    guest_order,
):
    shopper = Client()

    signed_up = sign_up(shopper, "ada@example.com")

    # Not signed in yet, and the guest order is not the account's
    assert signed_up.status_code == 302
    assert signed_up["Location"] == "/accounts/confirm-email/"
    user = get_user_model().objects.get(email="ada@example.com")
    assert Order.objects.get(pk=guest_order.pk).user is None
    assert shopper.get("/account/")["Location"].startswith("/accounts/login/")
    # Signing in is refused until the email is verified
    assert sign_in(shopper, "ada@example.com")["Location"] == "/accounts/confirm-email/"
    assert Order.objects.get(pk=guest_order.pk).user is None

    [message] = mail.outbox
    assert message.subject == "Cellar: Please Confirm Your Email Address"
    link = confirmation_link(message)
    assert shopper.get(link).status_code == 200  # a page to confirm on, not a GET
    assert Order.objects.get(pk=guest_order.pk).user is None
    confirmed = shopper.post(link)

    assert confirmed.status_code == 302
    assert Order.objects.get(pk=guest_order.pk).user == user
    page = shopper.get("/account/").content.decode()
    assert f"Order {guest_order.reference}</a>" in page
    assert "data-account-order-status>Paid</span>" in page


def test_orders_show_on_another_device_after_signing_in(guest_order):
    user = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(
        user=user, email="ada@example.com", verified=True, primary=True
    )
    phone = Client()

    response = sign_in(phone, "ADA@example.com")

    assert response.status_code == 302
    assert Order.objects.get(pk=guest_order.pk).user == user
    assert phone.get("/orders/").content.decode().count(guest_order.reference) >= 1
    assert f"Order {guest_order.reference}" in phone.get("/account/").content.decode()


def test_signing_up_with_a_taken_email_answers_as_for_a_new_one(db):
    ada = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=ada, email="ada@example.com", verified=True)

    taken = sign_up(Client(), "ada@example.com")
    new = sign_up(Client(), "grace@example.com")

    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    # The owner of the taken email is told; nobody else learns it exists
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ada@example.com",
        "grace@example.com",
    ]
    assert get_user_model().objects.filter(email="ada@example.com").count() == 1


def test_a_reset_for_an_unknown_email_answers_as_for_a_known_one(db):
    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)

    known = Client().post("/accounts/password/reset/", {"email": "ada@example.com"})
    unknown = Client().post(
        "/accounts/password/reset/", {"email": "nobody@example.com"}
    )

    assert (known.status_code, known["Location"]) == (
        unknown.status_code,
        unknown["Location"],
    )
    assert known["Location"] == "/accounts/password/reset/done/"


def test_failed_sign_ins_are_limited(db):
    ada = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=ada, email="ada@example.com", verified=True)
    thief = Client()

    limited = "Too many failed login attempts. Try again later."
    answers = [
        limited in sign_in(thief, "ada@example.com", "wrong").content.decode()
        for _ in range(6)
    ]

    assert answers == [False, False, False, False, False, True]
    # The right password from there waits too
    right = sign_in(thief, "ada@example.com")
    assert (right.status_code, limited in right.content.decode()) == (200, True)
    assert "_auth_user_id" not in thief.session


def test_signing_in_rotates_the_session_and_keeps_the_cart(wines):
    user = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True)
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    before = shopper.session.session_key

    sign_in(shopper, "ada@example.com")

    assert shopper.session.session_key != before
    assert shopper.get("/cart/api/").json()["count"] == 2


def test_account_forms_need_their_csrf_token(db):
    strict = Client(enforce_csrf_checks=True)

    assert sign_in(strict, "ada@example.com").status_code == 403
    assert sign_up(strict, "ada@example.com").status_code == 403


def test_another_accounts_order_and_invoice_are_not_found(guest_order):
    owner = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    Order.objects.filter(pk=guest_order.pk).update(user=owner)
    other = get_user_model().objects.create_user("eve", "eve@example.com", PASSWORD)
    EmailAddress.objects.create(user=other, email="eve@example.com", verified=True)
    eve = Client()
    sign_in(eve, "eve@example.com")

    assert eve.get(f"/orders/{guest_order.token}/").status_code == 404
    assert eve.get(f"/orders/{guest_order.token}/invoice.pdf").status_code == 404
    assert eve.post(f"/orders/{guest_order.token}/reorder/").status_code == 404
    assert eve.post(f"/orders/{guest_order.token}/").status_code == 405
    assert guest_order.reference not in eve.get("/account/").content.decode()
    # The link in the shopper's email still opens it, signed in or not
    assert Client().get(f"/orders/{guest_order.token}/").status_code == 200


def test_closing_an_account_keeps_its_orders_for_the_books(guest_order):
    user = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True)
    shopper = Client()
    sign_in(shopper, "ada@example.com")
    assert Order.objects.get(pk=guest_order.pk).user == user

    wrong = shopper.post("/account/close/", {"password": "nope"})
    closed = shopper.post("/account/close/", {"password": PASSWORD})

    assert wrong.status_code == 400
    assert "That is not your password." in wrong.content.decode()
    assert closed.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    order = Order.objects.get(pk=guest_order.pk)
    assert (order.user, order.email, order.status) == (None, "Ada@Example.com", "paid")
    assert shopper.get("/account/")["Location"].startswith("/accounts/login/")


def test_closing_an_account_guesses_passwords_at_a_limited_rate(db):
    user = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True)
    thief = Client()
    sign_in(thief, "ada@example.com")

    answers = [
        thief.post("/account/close/", {"password": f"guess {n}"}).status_code
        for n in range(6)
    ]

    assert answers == [400, 400, 400, 400, 400, 429]
    assert thief.post("/account/close/", {"password": PASSWORD}).status_code == 429
    assert get_user_model().objects.filter(pk=user.pk).exists()
