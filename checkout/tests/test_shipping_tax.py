"""Shipping, tax and addresses through the shop: the same totals in the checkout
page, the order, Stripe (hosted and on-page) and the invoice."""

import re
from decimal import Decimal as D

import pytest
from django.test import Client

from checkout.stripe_api import client as stripe_client
from coupons.models import Coupon
from home.models import ShopSettings
from orders.models import Order
from shipping.models import ShippingZone, TaxRate
from stripe_emulator import payments, webhooks

from .conftest import CONTACT, check_out, session_id_of
from .test_invoices import pdf_text

NEW_YORK = {
    **CONTACT,
    "address_line1": "350 Fifth Avenue",
    "city": "New York",
    "state": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "(212) 736-3100",
}
OREGON = {**NEW_YORK, "city": "Portland", "state": "OR", "postal_code": "97205"}
LONDON = {**CONTACT, "phone": "020 7946 0018"}


@pytest.fixture
def rates(db):
    """Zones, methods and rates as a merchant sets them."""
    ShopSettings.objects.update(delivery_countries="CA,GB,US")
    us = ShippingZone.objects.create(name="United States", countries=["US"])
    ground = us.methods.create(
        name="Ground", price=D("12.00"), per_bottle=D("1.00"), free_above=D("150")
    )
    express = us.methods.create(
        name="Express", price=D("29.00"), per_bottle=D("2.00"), min_days=1, max_days=2
    )
    europe = ShippingZone.objects.create(name="Europe", countries=["GB", "FR"])
    europe.methods.create(name="Courier", price=D("35.00"), per_bottle=D("3.00"))
    TaxRate.objects.create(country="US", state="NY", name="Sales tax", rate="8.875")
    TaxRate.objects.create(
        country="US",
        state="CA",
        name="Sales tax",
        rate="7.25",
        applies_to_shipping=False,
    )
    TaxRate.objects.create(country="GB", name="VAT", rate="20")
    return {"ground": ground, "express": express}


def buy(client, wines, lines, coupon=None):
    for key, quantity in lines:
        client.post("/cart/add/", {"variant": wines[key].pk, "quantity": quantity})
    if coupon:
        client.post("/cart/coupon/", {"code": coupon})


def stripe_session(session_id):
    return stripe_client().v1.checkout.sessions.retrieve(session_id)


def checkout_page_total(client):
    """What the checkout page (prefilled with the last address) says is due."""
    page = client.get("/checkout/").content.decode()
    match = re.search(r"data-checkout-total>\$([\d,.]+)<", page)
    return D(match[1].replace(",", "")) if match else None


@pytest.mark.parametrize(
    ("case", "lines", "contact", "coupon", "inclusive", "want"),
    [
        (
            # 2 × 10 + 25.50 = 45.50; Ground 12 + 3 bottles; NY 8.875% on each
            # line and the shipping: 1.775 → 1.78, 2.263 → 2.26, 1.331 → 1.33
            "exclusive, a state with tax on shipping",
            [("red", 2), ("white", 1)],
            NEW_YORK,
            None,
            False,
            {"shipping": "15.00", "tax": "5.37", "total": "65.87"},
        ),
        (
            "a state without tax",
            [("red", 2), ("white", 1)],
            OREGON,
            None,
            False,
            {"shipping": "15.00", "tax": "0.00", "total": "60.50"},
        ),
        (
            # Courier 35 + 3 × 3; 20% VAT inside: 20/6 → 3.33, 25.50/6 → 4.25,
            # 44/6 → 7.33
            "prices including VAT",
            [("red", 2), ("white", 1)],
            LONDON,
            None,
            True,
            {"shipping": "44.00", "tax": "14.91", "total": "89.50"},
        ),
        (
            # 100 + 51 = 151 ≥ 150: free; 8.875 → 8.88, 4.526 → 4.53
            "free shipping from 150",
            [("red", 10), ("white", 2)],
            NEW_YORK,
            None,
            False,
            {"shipping": "0.00", "tax": "13.41", "total": "164.41"},
        ),
        (
            # 10% off 151 = 135.90 < 150: Ground 12 + 12 bottles; the coupon's
            # 15.10 is 10.00 + 5.10: 90 → 7.99, 45.90 → 4.07, 24 → 2.13
            "a coupon takes the goods below free shipping",
            [("red", 10), ("white", 2)],
            NEW_YORK,
            "TENOFF",
            False,
            {"shipping": "24.00", "tax": "14.19", "total": "174.09"},
        ),
        (
            # 20 off 45.50 spread 8.79 / 11.21: 11.21 → 0.99, 14.29 → 1.27, and
            # 15 shipping → 1.33
            "a fixed coupon",
            [("red", 2), ("white", 1)],
            NEW_YORK,
            "TWENTY",
            False,
            {"shipping": "15.00", "tax": "3.59", "total": "44.09"},
        ),
    ],
)
def test_the_same_totals_in_the_page_the_order_stripe_and_the_invoice(
    client,
    wines,
    rates,
    django_capture_on_commit_callbacks,
    case,
    lines,
    contact,
    coupon,
    inclusive,
    want,
):
    ShopSettings.objects.update(prices_include_tax=inclusive)
    Coupon.objects.create(code="TENOFF", kind="percent", value=10)
    Coupon.objects.create(code="TWENTY", kind="fixed", value=20)
    buy(client, wines, lines, coupon)

    session_id = session_id_of(check_out(client, **contact))

    order = Order.objects.get(stripe_session_id=session_id)
    got = {
        "shipping": str(order.shipping),
        "tax": str(order.tax),
        "total": str(order.total),
    }
    assert got == want, case
    session = stripe_session(session_id)
    assert session.amount_total == int(order.total * 100)
    assert session.total_details.amount_shipping == int(order.shipping * 100)
    assert checkout_page_total(client) == order.total
    payments.pay(session_id, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    order.refresh_from_db()
    text = pdf_text(order.invoice)
    assert re.search(rf"Total USD\s+{order.total}", text)
    if order.shipping_method:
        assert re.search(rf"Shipping: {order.shipping_method}\s+{order.shipping}", text)
    for tax in order.tax_lines:
        assert tax["amount"] in text and tax["label"] in text


def test_a_changed_shipping_method_changes_what_stripe_charges(client, wines, rates):
    buy(client, wines, [("red", 2), ("white", 1)])
    first = Order.objects.get(
        stripe_session_id=session_id_of(check_out(client, **NEW_YORK))
    )

    second_id = session_id_of(
        check_out(client, **NEW_YORK, shipping_method=rates["express"].pk)
    )

    second = Order.objects.get(stripe_session_id=second_id)
    # Express 29 + 3 × 2 = 35; tax 1.78 + 2.26 + 3.11 (35 × 8.875% = 3.106)
    assert (second.shipping_method, second.shipping, second.total) == (
        "Express",
        D("35.00"),
        D("87.65"),
    )
    assert stripe_session(second_id).amount_total == 8765
    first.refresh_from_db()
    assert (first.status, first.total) == ("cancelled", D("65.87"))
    assert stripe_session(first.stripe_session_id).status == "expired"


def test_the_intent_on_the_shops_page_charges_the_same(client, wines, rates):
    from home.models import PaymentPage
    from stripe_emulator import store

    ShopSettings.objects.update(payment_page=PaymentPage.ON_PAGE)
    buy(client, wines, [("red", 2), ("white", 1)])

    response = check_out(client, **NEW_YORK, payment_page="on_page")

    assert response.status_code == 303
    order = Order.objects.get(email=NEW_YORK["email"])
    intent = store.load("payment_intent", order.stripe_payment_intent_id)
    assert (order.total, intent["amount"]) == (D("65.87"), 6587)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"country": "CA", "state": "ON", "postal_code": "M5V 3L9"},
            "country",
            "We do not deliver to ON, Canada yet.",
        ),
        ({"state": ""}, "state", "Please choose the state."),
        # Varese, Italy, shares Virginia's code: the select sends the country's
        ({"state": "IT-VA"}, "state", "Choose a state of the delivery country."),
        (
            {"postal_code": "zzzzz"},
            "postal_code",
            "That is not a ZIP code we know for United States of America (for example "
            "95014); "
            "check it and the state match.",
        ),
        (
            {"postal_code": "94043"},
            "postal_code",
            "That is not a ZIP code we know for United States of America (for example "
            "95014); "
            "check it and the state match.",
        ),
        (
            {"phone": "12"},
            "phone",
            "That is not a phone number we can call; include the area code, or + and "
            "the country code.",
        ),
        (
            {"shipping_method": "999999"},
            "shipping_method",
            "That delivery method is not offered any more; choose another.",
        ),
    ],
)
def test_a_bad_address_is_a_400_in_the_shoppers_words_and_no_order(
    client, wines, rates, changes, field, message
):
    buy(client, wines, [("red", 1)])

    response = check_out(client, **{**NEW_YORK, **changes})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not Order.objects.exists()


def test_a_method_of_another_zone_is_refused(client, wines, rates):
    europe = ShippingZone.objects.get(name="Europe").methods.get()
    buy(client, wines, [("red", 1)])

    response = check_out(client, **NEW_YORK, shipping_method=europe.pk)

    assert response.status_code == 400
    assert response.context["form"].errors["shipping_method"] == [
        "That method does not deliver to this address; choose Ground, Express."
    ]


def test_the_address_is_kept_normalised(client, wines, rates):
    buy(client, wines, [("red", 1)])

    check_out(client, **{**NEW_YORK, "state": "NY", "postal_code": "10118-0110"})

    order = Order.objects.get()
    assert (order.state, order.postal_code, order.phone) == (
        "NY",
        "10118-0110",
        "+12127363100",
    )


def test_the_delivery_page_lists_the_merchants_rates(client, rates):
    page = client.get("/delivery/").content.decode()

    assert "Where we deliver, and what it costs" in page
    assert (
        "<strong>Ground</strong>: $12.00 a parcel plus $1.00 a bottle, free from "
        "$150.00; 2–5 working days." in page
    )
    assert "Tax is added at checkout at your address" in page


def test_the_cart_estimates_delivery_and_tax_for_the_chosen_address(
    client, wines, rates
):
    buy(client, wines, [("red", 2), ("white", 1)])
    assert "estimate" not in client.get("/cart/api/").json()

    response = client.post("/cart/destination/", {"country": "US", "state": "NY"})

    assert response.status_code == 302
    page = client.get("/cart/").content.decode()
    assert re.search(r"data-cart-estimate>\$65\.87<", page)
    assert "<dt>Delivery to New York, United States of America (Ground)</dt>" in page
    assert client.get("/cart/api/").json()["estimate"] == {
        "country": "US",
        "state": "NY",
        "method": "Ground",
        "shipping": "15.00",
        "tax": "5.37",
        "prices_include_tax": False,
        "total": "65.87",
    }
    # The order placed for that address charges what was estimated
    session_id = session_id_of(check_out(client, **NEW_YORK))
    assert Order.objects.get(stripe_session_id=session_id).total == D("65.87")


@pytest.mark.parametrize(
    ("data", "field"),
    [({"country": "JP"}, "country"), ({"country": "US", "state": ""}, "state")],
)
def test_a_destination_the_shop_cannot_estimate_is_a_400(
    client, wines, rates, data, field
):
    buy(client, wines, [("red", 1)])

    response = client.post("/cart/destination/", data)

    assert response.status_code == 400
    assert response.context["destination_form"].errors[field]
    assert "ship_to" not in client.session


def test_a_refused_destination_shows_no_estimate_for_the_one_before(
    client, wines, rates
):
    buy(client, wines, [("red", 1)])
    client.post("/cart/destination/", {"country": "US", "state": "NY"})
    assert "data-cart-shipping" in client.get("/cart/").content.decode()

    response = client.post("/cart/destination/", {"country": "US", "state": ""})

    # Beside the form's error, the New York figures would read as this address's
    page = response.content.decode()
    assert response.status_code == 400
    assert "data-cart-shipping" not in page
    assert "Delivery to" not in page
    assert client.session["ship_to"] == {"country": "US", "state": "NY"}


def test_a_destination_outside_every_zone_is_said_on_the_cart(client, wines, rates):
    buy(client, wines, [("red", 1)])
    client.post("/cart/destination/", {"country": "CA", "state": "ON"})

    page = client.get("/cart/").content.decode()

    assert "We do not deliver to ON, Canada yet." in page
    assert client.get("/cart/api/").json()["estimate"] == {
        "country": "CA",
        "state": "ON",
        "refused": "We do not deliver to ON, Canada yet.",
    }


def test_reports_split_sales_shipping_and_tax(
    client, wines, rates, staff_client, django_capture_on_commit_callbacks
):
    buy(client, wines, [("red", 2), ("white", 1)])
    session_id = session_id_of(check_out(client, **NEW_YORK))
    payments.pay(session_id, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    merchant = staff_client("Merchants")

    day = merchant.get("/admin/shop-reports/sales-by-day/").context["object_list"]
    taxes = merchant.get("/admin/shop-reports/tax-collected/").context["object_list"]

    [row] = day
    assert (row["sales"], row["shipping_net"], row["tax_collected"], row["total"]) == (
        D("45.50"),
        D("15.00"),
        D("5.37"),
        D("65.87"),
    )
    assert [dict(row) for row in taxes] == [
        {
            "country": "US",
            "state": "NY",
            "tax_name": "Sales tax",
            "tax_percent": D("8.875"),
            "orders": 1,
            "taxable": D("60.50"),
            "tax_collected": D("5.37"),
            "tax_refunded": D("0.00"),
        }
    ]
    # Refunded in full, its tax shows as such
    Order.objects.update(status="refunded", amount_refunded=D("65.87"))
    [row] = merchant.get("/admin/shop-reports/tax-collected/").context["object_list"]
    assert (row["tax_collected"], row["tax_refunded"]) == (D("5.37"), D("5.37"))


def test_merchants_set_zones_methods_and_rates_editors_do_not(staff_client, rates):
    merchant, editor = staff_client("Merchants"), staff_client("Editors")
    for url in (
        "/admin/shipping-zones/",
        "/admin/shipping-methods/",
        "/admin/tax-rates/",
    ):
        assert merchant.get(url).status_code == 200, url
        assert editor.get(url).status_code == 302, url

    response = merchant.post(
        "/admin/tax-rates/new/",
        {"country": "US", "state": "tx", "name": "Sales tax", "rate": "6.25"},
    )

    assert response.status_code == 302
    assert TaxRate.objects.get(state="TX").rate == D("6.250")


def test_the_checkout_page_follows_the_address_as_it_is_chosen(client, wines, rates):
    buy(client, wines, [("red", 2), ("white", 1)])

    parts = client.get("/checkout/quote/", {"country": "US", "state": "NY"}).json()

    assert "data-checkout-total>$65.87<" in parts["totals"]
    assert parts["submit"] == "Pay $65.87 securely"
    assert re.findall(r"<strong>(\w+)</strong> — ([^,]+),", parts["methods"]) == [
        ("Ground", "$15.00"),
        ("Express", "$35.00"),
    ]
    express = client.get(
        "/checkout/quote/",
        {"country": "US", "state": "NY", "shipping_method": rates["express"].pk},
    ).json()
    assert "data-checkout-total>$87.65<" in express["totals"]
    nowhere = client.get("/checkout/quote/", {"country": "CA", "state": "ON"}).json()
    assert nowhere["submit"] == "Continue to payment"
    assert "We do not deliver to ON, Canada yet." in nowhere["methods"]
    # No country chosen yet: no refusal, only the goods
    unchosen = client.get("/checkout/quote/", {"country": ""}).json()
    assert "We do not deliver" not in unchosen["methods"]
    assert "We do not deliver" not in client.get("/checkout/").content.decode()


def test_without_a_choice_the_order_takes_the_cheapest_as_the_page_showed(
    client, wines, rates
):
    # Express listed first, Ground still cheaper for this cart
    rates["ground"].sort_order, rates["express"].sort_order = 5, 0
    rates["ground"].save()
    rates["express"].save()
    buy(client, wines, [("red", 2), ("white", 1)])
    quoted = client.get("/checkout/quote/", {"country": "US", "state": "NY"}).json()
    assert quoted["submit"] == "Pay $65.87 securely"

    session_id = session_id_of(check_out(client, **NEW_YORK))

    order = Order.objects.get(stripe_session_id=session_id)
    assert (order.shipping_method, order.total) == ("Ground", D("65.87"))


def test_rates_changed_while_a_checkout_waits_price_a_new_order(client, wines, rates):
    buy(client, wines, [("red", 2), ("white", 1)])
    first = Order.objects.get(
        stripe_session_id=session_id_of(check_out(client, **NEW_YORK))
    )
    TaxRate.objects.filter(state="NY").update(rate="10")

    second = Order.objects.get(
        stripe_session_id=session_id_of(check_out(client, **NEW_YORK))
    )

    # 45.50 + 15 shipping; 10% of each line and of the shipping: 2 + 2.55 + 1.50
    assert (second.pk != first.pk, second.tax, second.total) == (
        True,
        D("6.05"),
        D("66.55"),
    )
    first.refresh_from_db()
    assert first.status == "cancelled"


def test_a_state_typed_by_name_is_quoted_and_charged_as_its_code(client, wines, rates):
    buy(client, wines, [("red", 2), ("white", 1)])

    quoted = client.get("/checkout/quote/", {"country": "US", "state": "new york"})
    order = Order.objects.get(
        stripe_session_id=session_id_of(
            check_out(client, **{**NEW_YORK, "state": "new york"})
        )
    )

    assert "data-checkout-total>$65.87<" in quoted.json()["totals"]
    assert (order.state, order.total) == ("NY", D("65.87"))


def state_select(html):
    return re.search(r'<select[^>]* name="state"[^>]*>.*?</select>', html, re.S)[0]


@pytest.mark.parametrize("path", ["/checkout/", "/cart/"])
def test_the_state_select_groups_the_delivery_countries_states(
    client, wines, rates, path
):
    buy(client, wines, [("red", 1)])
    client.post("/cart/destination/", {"country": "US", "state": "US-OR"})

    select = state_select(client.get(path).content.decode())

    # Canada and the US name states; Britain (also delivered to) does not.
    assert re.findall(r'<optgroup label="([^"]+)" data-country="(\w+)">', select) == [
        ("Canada", "CA"),
        ("United States of America", "US"),
    ]
    # The blank, 13 provinces and territories, and 62 US areas (states, DC,
    # territories and the armed forces' codes), each once.
    assert select.count("<option") == 1 + 13 + 62
    assert re.findall(r'<option value="([\w-]+)" selected>', select) == ["US-OR"]
    assert '<option value="CA-QC">Quebec</option>' in select


def test_a_refused_checkout_keeps_the_chosen_state_and_escapes_what_was_sent(
    client, wines, rates
):
    buy(client, wines, [("red", 1)])

    kept = check_out(client, **{**NEW_YORK, "state": "US-NY", "email": "nope"})
    hostile = check_out(client, **{**NEW_YORK, "state": '"><script>x</script>'})

    assert kept.status_code == hostile.status_code == 400
    assert re.findall(
        r'<option value="([\w-]+)" selected>', state_select(kept.content.decode())
    ) == ["US-NY"]
    page = hostile.content.decode()
    assert "<script>x</script>" not in page
    assert " selected>" not in state_select(page)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"name": "US again", "countries": ["US"]},
            "Zone “United States” already covers US; change that zone first.",
        ),
        (
            {"name": "Islands", "countries": ["US"], "states": "HI, ZZ"},
            "Not a state or province code: ZZ.",
        ),
        (
            {"name": "Europe 2", "countries": ["FR", "DE"]},
            "Zone “Europe” already covers FR; change that zone first.",
        ),
    ],
)
def test_zones_do_not_overlap_and_name_real_states(rates, fields, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        ShippingZone(**fields).full_clean()
    assert message in str(refused.value)
    # A zone of some states inside a whole-country zone is how they get their own
    ShippingZone(name="Islands", countries=["US"], states="hi, ak").full_clean()


@pytest.mark.parametrize(
    "params",
    [
        {"country": "ZZ"},
        {"country": "24", "state": "x" * 5000},
        {"country": "US", "state": "\x00"},
        {"country": "eéí", "shipping_method": "-1"},
        {"country": "US", "state": "NY", "shipping_method": "abc"},
    ],
)
def test_hostile_addresses_never_500(client, wines, rates, params):
    buy(client, wines, [("red", 1)])

    quote = client.get("/checkout/quote/", params)
    destination = client.post("/cart/destination/", params)
    checkout = check_out(client, **{**NEW_YORK, **params})

    # A NUL byte is refused by the hostile-input guard before any view (400)
    assert quote.status_code in (200, 400)
    assert destination.status_code in (302, 400)
    assert checkout.status_code == 400
    assert not Order.objects.exists()


# Stripe Tax's rates in the emulator for these tests: not the shop's own (NY
# 8.875%), so what the order records can only have come from Stripe.
STRIPE_TAX_RATES = {
    ("US", "NY"): ("Sales Tax", "4", "New York"),
    ("GB", ""): ("VAT", "20", "United Kingdom"),
}


@pytest.fixture
def stripe_tax(rates, settings):
    from home.models import TaxCalculation

    settings.STRIPE_EMULATOR_TAX_RATES = STRIPE_TAX_RATES
    ShopSettings.objects.update(tax_calculation=TaxCalculation.STRIPE)


@pytest.mark.parametrize(
    ("contact", "inclusive", "before", "want"),
    [
        (
            # 45.50 + Ground 15 before tax; Stripe's 4%: 20 → 0.80, 25.50 →
            # 1.02, the shipping 15 → 0.60
            NEW_YORK,
            False,
            "60.50",
            {
                "tax": "2.42",
                "shipping_tax": "0.60",
                "total": "62.92",
                "label": "Sales Tax 4%",
                "taxable": "60.50",
            },
        ),
        (
            # Courier 44; 20% VAT inside each line: 3.33 + 4.25 + 7.33
            LONDON,
            True,
            "89.50",
            {
                "tax": "14.91",
                "shipping_tax": "7.33",
                "total": "89.50",
                "label": "VAT 20%",
                "taxable": "74.59",
            },
        ),
    ],
)
def test_stripe_tax_computes_the_tax_at_payment_and_the_order_keeps_it(
    client,
    wines,
    stripe_tax,
    django_capture_on_commit_callbacks,
    contact,
    inclusive,
    before,
    want,
):
    ShopSettings.objects.update(prices_include_tax=inclusive)
    buy(client, wines, [("red", 2), ("white", 1)])

    page = client.get(
        "/checkout/quote/",
        {"country": contact["country"], "state": contact.get("state", "")},
    )
    session_id = session_id_of(check_out(client, **contact))

    # The shop charges none of its own rates, and says Stripe will
    totals = page.json()["totals"]
    assert f"data-checkout-total>${before}<" in totals
    assert ("Included; Stripe works it out" if inclusive else "Added by Stripe") in (
        totals
    )
    order = Order.objects.get(stripe_session_id=session_id)
    assert (order.tax_by_stripe, str(order.tax), str(order.total)) == (
        True,
        "0.00",
        before,
    )
    session = stripe_client().v1.checkout.sessions.retrieve(
        session_id, params={"expand": ["customer"]}
    )
    assert session.automatic_tax.enabled is True
    assert session.customer.shipping.address.postal_code == contact["postal_code"]
    assert session.amount_total == int(D(want["total"]) * 100)
    # Stripe's page shows its tax beside the shipping
    stripe_page = Client().get(f"/_stripe/pay/{session_id}").content.decode()
    assert re.search(
        rf"<dt>{'Includes tax' if inclusive else 'Tax'}</dt><dd>\${want['tax']}</dd>",
        stripe_page,
    )

    payments.pay(session_id, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))

    order.refresh_from_db()
    assert order.status == "paid", order.attention_reason
    assert {
        "tax": str(order.tax),
        "shipping_tax": str(order.shipping_tax),
        "total": str(order.total),
        "label": order.tax_lines[0]["label"],
        "taxable": order.tax_lines[0]["taxable"],
    } == want
    assert len(order.tax_lines) == 1 and order.tax_lines[0]["amount"] == want["tax"]
    text = pdf_text(order.invoice)
    assert re.search(rf"Total USD\s+{want['total']}", text)
    assert re.search(rf"{want['label']} on {want['taxable']}\s+{want['tax']}", text)
    assert "calculated by Stripe Tax" in text


def test_stripe_tax_pays_on_stripes_page_even_when_the_shop_takes_cards(
    client, wines, stripe_tax
):
    from home.models import PaymentPage

    ShopSettings.objects.update(payment_page=PaymentPage.ON_PAGE)
    buy(client, wines, [("red", 2), ("white", 1)])

    page = client.get("/checkout/").content.decode()
    response = check_out(client, **NEW_YORK, payment_page="on_page")

    assert "data-payment-page" not in page
    order = Order.objects.get(stripe_session_id=session_id_of(response))
    assert (order.payment_page, order.stripe_payment_intent_id) == ("hosted", "")


def test_a_returning_shoppers_customer_is_reused_for_its_address_never_changed(
    client, wines, stripe_tax, django_capture_on_commit_callbacks
):
    buy(client, wines, [("red", 1)])
    first = session_id_of(check_out(client, **NEW_YORK))
    payments.pay(first, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))
    customer = Order.objects.get(stripe_session_id=first).stripe_customer_id

    same, elsewhere = Client(), Client()
    buy(same, wines, [("red", 1)])
    buy(elsewhere, wines, [("red", 1)])
    again = Order.objects.get(
        stripe_session_id=session_id_of(check_out(same, **NEW_YORK))
    )
    oregon = Order.objects.get(
        stripe_session_id=session_id_of(check_out(elsewhere, **OREGON))
    )

    # The same address: the same Customer. Another (typed with the same email,
    # which proves nothing): a Customer of its own, the first one untouched
    assert again.stripe_customer_id == customer
    assert oregon.stripe_customer_id not in ("", customer)
    assert stripe_client().v1.customers.retrieve(customer).shipping.address.state == (
        "NY"
    )
    assert (
        stripe_client()
        .v1.customers.retrieve(oregon.stripe_customer_id)
        .shipping.address.state
        == "OR"
    )
    # Oregon has no sales tax (no rate in the emulator's table): none is added
    assert stripe_session(oregon.stripe_session_id).total_details.amount_tax == 0


def test_a_payment_that_is_not_the_total_and_stripes_tax_is_flagged(
    client, wines, stripe_tax, django_capture_on_commit_callbacks
):
    from stripe_emulator import store

    buy(client, wines, [("red", 2), ("white", 1)])
    session_id = session_id_of(check_out(client, **NEW_YORK))
    # Stripe reports less tax than it charged (60.50 + 2.42)
    session = store.load("checkout.session", session_id)
    session["total_details"]["amount_tax"] = 100
    store.save(session)

    payments.pay(session_id, "4242424242424242")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_pending(transport=webhooks.django_client_transport(Client()))

    order = Order.objects.get(stripe_session_id=session_id)
    assert (order.status, order.tax, order.total) == ("pending", D("0.00"), D("60.50"))
    assert order.attention_reason == (
        "Stripe charged 6292 usd (minor units) but the order total with Stripe's "
        "tax is 6150 usd; not fulfilled."
    )
