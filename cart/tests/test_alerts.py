"""Back-in-stock alerts: asked on a sold-out wine's page, confirmed from the email
(double opt-in), sent once when the wine is for sale again."""

import re

from django.core import mail
from django.test import Client

from cart.models import StockAlert
from cart.tasks import send_stock_alerts
from products.models import WineVariant


def ask(client, variant, email="ada@example.com"):
    return client.post(
        "/cart/alerts/",
        {"variant": variant.pk, "email": email, "next": variant.page.url},
    )


def link_in(message):
    return re.search(r"http://[^/]+(/cart/alerts/[\w-]+/)", message.body)[1]


def test_a_confirmed_alert_is_sent_once_when_the_wine_is_back(wines):
    gone = wines["sold_out"]
    shopper = Client()
    page = shopper.get(gone.page.url).content.decode()
    assert f'name="variant" value="{gone.pk}"' in page
    assert "is sold out. Email me once when it is back" in page

    asked = ask(shopper, gone, "Ada@Example.com")

    assert asked.status_code == 302
    [confirm] = mail.outbox
    assert confirm.to == ["ada@example.com"]
    link = link_in(confirm)
    # Not confirmed: back in stock sends nothing
    WineVariant.objects.filter(pk=gone.pk).update(stock=5)
    assert send_stock_alerts() == 0
    assert shopper.get(link).status_code == 200  # a page to confirm on
    assert StockAlert.objects.get().confirmed_at is None
    shopper.post(link)
    assert StockAlert.objects.get().confirmed_at is not None

    assert (send_stock_alerts(), send_stock_alerts()) == (1, 0)
    back = mail.outbox[-1]
    assert back.subject.endswith("is back at Cellar")
    assert gone.page.url in back.body
    assert len(mail.outbox) == 2


def test_a_wine_still_sold_out_waits_and_asking_twice_is_one_alert(wines):
    gone = wines["sold_out"]
    ask(Client(), gone)
    ask(Client(), gone)
    alert = StockAlert.objects.get()
    Client().post(f"/cart/alerts/{alert.token}/")

    assert send_stock_alerts() == 0
    assert StockAlert.objects.count() == 1
    # A confirmed alert asked for again sends no new confirmation
    before = len(mail.outbox)
    ask(Client(), gone)
    assert len(mail.outbox) == before == 2


def test_bad_alerts_change_nothing(wines):
    shopper = Client()

    no_email = shopper.post("/cart/alerts/", {"variant": wines["sold_out"].pk})
    for_sale = ask(shopper, wines["red"])
    unknown = shopper.post("/cart/alerts/", {"variant": 999999, "email": "a@b.co"})

    assert (no_email.status_code, for_sale.status_code, unknown.status_code) == (
        302,
        302,
        302,
    )
    assert StockAlert.objects.count() == 0
    assert mail.outbox == []
    assert Client().get("/cart/alerts/nope/").status_code == 404
    assert Client().get("/cart/alerts/").status_code == 405


def test_one_click_in_the_email_or_the_mail_app_stops_the_alert(wines):
    gone = wines["sold_out"]
    ask(Client(), gone)
    ask(Client(), gone, "grace@example.com")
    ada, grace = mail.outbox
    ada_stop = re.search(r"(/cart/alerts/[\w-]+/unsubscribe/)", ada.body)[1]
    grace_stop = re.search(r"(/cart/alerts/[\w-]+/unsubscribe/)", grace.body)[1]
    assert ada.extra_headers["List-Unsubscribe"].endswith(f"{ada_stop}>")
    assert ada.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    clicked = Client().get(ada_stop)
    # A mail app's POST (RFC 8058): no CSRF token, no cookie
    posted = Client(enforce_csrf_checks=True).post(grace_stop)

    assert "Alert stopped" in clicked.content.decode()
    assert posted.status_code == 200
    assert StockAlert.objects.count() == 0
    assert Client(enforce_csrf_checks=True).post(grace_stop).status_code == 404
    WineVariant.objects.filter(pk=gone.pk).update(stock=5)
    assert send_stock_alerts() == 0


def test_the_alert_form_on_a_cached_page_carries_the_visitors_own_token(
    wines, page_cache
):
    gone = wines["sold_out"]
    Client().get(gone.page.url)  # the page is cached by another visitor first
    shopper = Client(enforce_csrf_checks=True)

    page = shopper.get(gone.page.url).content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    response = shopper.post(
        "/cart/alerts/",
        {
            "variant": gone.pk,
            "email": "ada@example.com",
            "next": gone.page.url,
            "csrfmiddlewaretoken": tokens[-1],
        },
    )

    assert len(tokens) == 2 and len(set(tokens)) == 1  # add to cart, and the alert
    assert response.status_code == 302
    assert StockAlert.objects.get().email == "ada@example.com"


def signed_in(email, verified):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=email, email=email, password="a long Cellar password 42"
    )
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    client = Client()
    client.force_login(user)
    return client


def test_a_signed_in_shoppers_own_verified_email_needs_no_confirming(wines):
    gone = wines["sold_out"]
    shopper = signed_in("grace@example.com", verified=True)

    asked = shopper.post(
        "/cart/alerts/",
        {"variant": gone.pk, "email": "Grace@Example.com", "next": gone.page.url},
        follow=True,
    )

    told = [str(message) for message in asked.context["messages"]]
    assert told == ["We will email grace@example.com once, when it is back."]
    assert mail.outbox == []
    assert StockAlert.objects.get().confirmed_at is not None
    WineVariant.objects.filter(pk=gone.pk).update(stock=5)
    assert send_stock_alerts() == 1
    [back] = mail.outbox
    assert back.to == ["grace@example.com"]


def test_another_email_or_an_unverified_one_is_still_confirmed_by_email(wines):
    gone = wines["sold_out"]
    # Signed in, asking for someone else's address: that address confirms
    ask(signed_in("grace@example.com", verified=True), gone, "ada@example.com")
    # Signed in with an address not verified yet: it confirms too
    ask(signed_in("hedy@example.com", verified=False), gone, "hedy@example.com")

    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "hedy@example.com",
    ]
    assert not StockAlert.objects.filter(confirmed_at__isnull=False).exists()


def test_an_alert_whose_email_fails_is_sent_by_the_next_sweep(wines, settings):
    gone = wines["sold_out"]
    ask(signed_in("grace@example.com", verified=True), gone, "grace@example.com")
    WineVariant.objects.filter(pk=gone.pk).update(stock=5)
    # An SMTP server that refuses the connection
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 5

    assert send_stock_alerts() == 0
    assert StockAlert.objects.get().notified_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert (send_stock_alerts(), send_stock_alerts()) == (1, 0)
    assert len(mail.outbox) == 1
