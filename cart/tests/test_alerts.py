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
