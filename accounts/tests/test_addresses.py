"""Saved addresses: kept at checkout or on the account's page, one default, the
checkout starting from one; checked as the checkout checks addresses."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client

from checkout.tests.conftest import CONTACT
from orders.models import SavedAddress

PASSWORD = "a long Cellar password 42"
BATH = {
    "name": "Ada Lovelace",
    "address_line1": "4 Royal Crescent",
    "address_line2": "",
    "city": "Bath",
    "postal_code": "BA1 2LR",
    "country": "GB",
    "state": "",
    "phone": "",
}


def shopper_for(email):
    user = get_user_model().objects.create_user(email.split("@")[0], email, PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    client = Client()
    client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    return user, client


@pytest.fixture
def ada(db):
    return shopper_for("ada@example.com")


def initial(response):
    form = response.context["form"]
    return {name: form.initial.get(name) for name in ("address_line1", "city")}


def test_an_address_saved_at_checkout_starts_the_next_one(ada, wines):
    user, shopper = ada
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})

    placed = shopper.post("/checkout/", {**CONTACT, "save_address": "on"})

    assert placed.status_code == 303, placed.content[:300]
    [saved] = SavedAddress.objects.filter(user=user)
    assert (saved.address_line1, saved.city, saved.is_default) == (
        "12 Analytical Row",
        "London",
        True,
    )
    # Checking out again with the same address keeps one copy
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    shopper.post("/checkout/", {**CONTACT, "save_address": "on"})
    assert SavedAddress.objects.filter(user=user).count() == 1
    page = shopper.get("/checkout/")
    assert initial(page) == {"address_line1": "12 Analytical Row", "city": "London"}
    assert "Deliver to a saved address" in page.content.decode()


def test_the_checkout_starts_from_the_chosen_or_the_default_address(ada, wines):
    user, shopper = ada
    home = SavedAddress.keep(user, {**CONTACT, "country": "GB"})
    bath = SavedAddress.keep(user, BATH)
    eve, _ = shopper_for("eve@example.com")
    theirs = SavedAddress.keep(eve, {**BATH, "address_line1": "1 Secret Lane"})
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})

    default = shopper.get("/checkout/")
    chosen = shopper.get(f"/checkout/?address={bath.pk}")
    not_mine = shopper.get(f"/checkout/?address={theirs.pk}")

    assert (home.is_default, bath.is_default) == (True, False)
    assert initial(default)["address_line1"] == "12 Analytical Row"
    assert initial(chosen)["address_line1"] == "4 Royal Crescent"
    assert initial(not_mine)["address_line1"] == "12 Analytical Row"
    assert "1 Secret Lane" not in not_mine.content.decode()


def test_the_addresses_page_checks_adds_makes_default_and_removes(ada):
    user, shopper = ada

    refused = shopper.post(
        "/account/addresses/", {**BATH, "country": "US", "postal_code": "zzzzz"}
    )
    added = shopper.post("/account/addresses/", BATH)
    london = SavedAddress.keep(user, {**CONTACT, "country": "GB"})
    bath = SavedAddress.objects.get(user=user, city="Bath")
    shopper.post(f"/account/addresses/{london.pk}/default/")

    assert refused.status_code == 400
    assert "Please choose the state." in refused.content.decode()
    assert added.status_code == 302
    assert list(
        SavedAddress.objects.filter(user=user).values_list("city", "is_default")
    ) == [("London", True), ("Bath", False)]

    shopper.post(f"/account/addresses/{london.pk}/delete/")

    assert list(
        SavedAddress.objects.filter(user=user).values_list("city", "is_default")
    ) == [("Bath", True)]
    assert bath.pk == SavedAddress.objects.get(user=user).pk


def test_another_accounts_address_cannot_be_changed(ada):
    user, shopper = ada
    eve, _ = shopper_for("eve@example.com")
    theirs = SavedAddress.keep(eve, BATH)

    assert shopper.post(f"/account/addresses/{theirs.pk}/delete/").status_code == 404
    assert shopper.post(f"/account/addresses/{theirs.pk}/default/").status_code == 404
    assert SavedAddress.objects.filter(pk=theirs.pk).exists()
    assert shopper.get(f"/account/addresses/{theirs.pk}/delete/").status_code == 405
