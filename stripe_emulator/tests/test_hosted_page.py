import pytest

from stripe_emulator import payments
from stripe_emulator.models import EmulatedEvent

from .factories import create_coupon, create_session, line

pytestmark = pytest.mark.django_db

CARD = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "card_number": "4242 4242 4242 4242",
    "expiry": "12 / 34",
    "cvc": "123",
    "method": "card",
}


def page_url(session):
    return f"/_stripe/pay/{session.id}"


def test_the_page_shows_the_lines_coupon_and_total(client, stripe_client):
    # given
    coupon = create_coupon(
        stripe_client, amount_off=1_000, currency="usd", name="Spring sale"
    )
    session = create_session(stripe_client, discounts=[{"coupon": coupon.id}])

    # when
    response = client.get(page_url(session))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "TEST MODE — Cellar's Stripe emulator" in html
    for text in (
        "Château Margaux 2015 – 75 cl bottle",
        "Qty 2",
        "$250.00",
        "Rioja Reserva 2018 – Case of 6",
        "$90.00",
        "$340.00",
        "Spring sale",
        "-$10.00",
        "Pay $330.00",
        "Pay by bank debit (settles later)",
        'href="http://shop.test/checkout/cancel/"',
        "4242 4242 4242 4242",
        'name="csrfmiddlewaretoken"',
    ):
        assert text in html, text
    assert response.context["form"]["email"].value() == "ada@example.com"
    for field in ("email", "card_number", "expiry", "cvc", "name"):
        assert f'<label for="id_{field}">' in html


def test_paying_redirects_to_the_success_url(client, stripe_client):
    # given
    session = create_session(stripe_client)

    # when
    response = client.post(page_url(session), CARD)

    # then
    assert response.status_code == 303
    assert response["Location"] == (
        f"http://shop.test/checkout/success/?session_id={session.id}"
    )
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.payment_status, paid.customer_details.name) == ("paid", "Ada Lovelace")
    assert EmulatedEvent.objects.filter(type="checkout.session.completed").count() == 1


def test_a_declined_card_shows_the_message_and_keeps_what_was_typed(
    client, stripe_client
):
    session = create_session(stripe_client)

    response = client.post(
        page_url(session), {**CARD, "card_number": "4000 0000 0000 0002"}
    )

    assert response.status_code == 402
    html = response.content.decode()
    assert "Your card was declined." in html
    assert 'value="Ada Lovelace"' in html
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert not EmulatedEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expiry", "13 / 30", "Your card&#x27;s expiration month is invalid."),
        ("expiry", "01 / 20", "Your card&#x27;s expiration date is in the past."),
        ("expiry", "", "Your card&#x27;s expiration date is incomplete."),
        ("cvc", "12", "Your card&#x27;s security code is incomplete."),
        ("card_number", "4242 4242 4242 4241", "Your card number is invalid."),
        ("card_number", "", "Your card number is incomplete."),
    ],
)
def test_card_fields_are_validated(client, stripe_client, field, value, message):
    session = create_session(stripe_client)

    response = client.post(page_url(session), {**CARD, field: value})

    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="field-error" id="id_{field}_error">{message}</p>' in html
    assert f'aria-describedby="id_{field}_error"' in html
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_bank_debit_needs_no_card(client, stripe_client):
    session = create_session(stripe_client)

    response = client.post(
        page_url(session), {"name": "Ada Lovelace", "method": "bank_debit"}
    )

    assert response.status_code == 303
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "unpaid")


def test_nothing_due_is_confirmed_without_card_fields(client, stripe_client):
    # given
    coupon = create_coupon(stripe_client, percent_off=100, name="On the house")
    session = create_session(
        stripe_client, discounts=[{"coupon": coupon.id}], customer_email=None
    )

    # when
    page = client.get(page_url(session)).content.decode()
    response = client.post(
        page_url(session), {"email": "ada@example.com", "name": "Ada Lovelace"}
    )

    # then
    assert "Confirm order" in page
    assert 'name="card_number"' not in page
    assert response.status_code == 303
    confirmed = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert confirmed.payment_status == "no_payment_required"
    assert confirmed.customer_details.email == "ada@example.com"


def test_an_expired_session_says_so(client, stripe_client):
    session = create_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)

    response = client.get(page_url(session))

    html = response.content.decode()
    assert "This checkout session has expired." in html
    assert 'href="http://shop.test/checkout/cancel/"' in html
    assert 'name="card_number"' not in html


def test_a_paid_session_says_so(client, stripe_client):
    session = create_session(stripe_client)
    payments.pay(session.id, "4242424242424242")

    response = client.post(page_url(session), CARD)

    html = response.content.decode()
    assert "This checkout session is already paid." in html
    assert f"session_id={session.id}" in html
    assert EmulatedEvent.objects.filter(type="checkout.session.completed").count() == 1


def test_an_unknown_session_is_404(client):
    assert client.get("/_stripe/pay/cs_test_nope").status_code == 404


def test_zero_decimal_amounts_have_no_decimals(client, stripe_client):
    session = create_session(
        stripe_client, line_items=[line("Sake", 1_200, 3, currency="jpy")]
    )

    html = client.get(page_url(session)).content.decode()

    assert "Pay ¥3,600" in html
    assert "¥1,200 each" in html
