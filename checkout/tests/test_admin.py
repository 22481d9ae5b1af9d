"""The merchants' order and event listings in the Wagtail admin."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from wagtail.admin.menu import admin_menu

from checkout.models import StripeEvent
from orders.models import Order
from orders.status import OrderStatus
from products.models import WinePage, WineVariant


@pytest.fixture
def orders(buy):
    """Ada paid today; Cy paid ten days ago with WELCOME10; Dee paid and flagged;
    Bob never paid."""
    made = {
        "ada": buy(email="ada@example.com", name="Ada Lovelace"),
        "cy": buy(
            lines=(("red", 2), ("white", 1)),
            email="cy@example.com",
            name="Cy Twombly",
            coupon="welcome10",
        ),
        "dee": buy(email="dee@example.com", name="Dee Flagged"),
        "bob": buy(email="bob@example.com", name="Bob Pending", pay=False),
    }
    Order.objects.filter(pk=made["cy"].pk).update(
        paid_at=timezone.now() - timedelta(days=10)
    )
    Order.objects.filter(pk=made["dee"].pk).update(
        needs_attention=True, attention_reason="Oversold: CART-RED ×1."
    )
    for order in made.values():
        order.refresh_from_db()
    return made


def references(response):
    return sorted(order.reference for order in response.context["object_list"])


def refs(orders, *names):
    return sorted(orders[name].reference for name in names)


def test_listing_shows_every_order_with_its_columns(staff_client, orders):
    response = staff_client("Merchants").get("/admin/orders/")

    assert response.status_code == 200
    assert references(response) == refs(orders, "ada", "cy", "dee", "bob")
    table = response.context["table"]
    headings = [column.label for column in table.columns.values()]
    assert headings[1:] == [
        "Paid",
        "Name",
        "Email",
        "Status",
        "Total",
        "Coupon",
        "Invoice",
        "Attention",
        "At stake",
    ]
    html = response.content.decode()
    assert f"{orders['ada'].invoice.number} (ready)" in html
    assert "WELCOME10" in html and "40.95" in html


def test_listing_queries_do_not_grow_with_orders(
    staff_client, orders, buy, django_assert_max_num_queries
):
    merchant = staff_client("Merchants")
    with django_assert_max_num_queries(50) as four:
        merchant.get("/admin/orders/")
    with_four = len(four.captured_queries)  # read now: each request clears the log
    WineVariant.objects.filter(pk=orders["ada"].lines.get().variant_id).update(
        stock=100
    )
    for number in range(6):
        buy(email=f"more{number}@example.com")

    with django_assert_max_num_queries(with_four):
        response = merchant.get("/admin/orders/")

    assert len(response.context["object_list"]) == 10


def days_ago(days):
    return (timezone.localdate() - timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"status": "paid"}, ["ada", "cy", "dee"]),
        ({"status": "pending"}, ["bob"]),
        ({"status": "refunded"}, []),
        ({"paid_at_from": days_ago(12), "paid_at_to": days_ago(8)}, ["cy"]),
        ({"paid_at_from": days_ago(1)}, ["ada", "dee"]),
        ({"coupon_code": "welcome10"}, ["cy"]),
        ({"needs_attention": "true"}, ["dee"]),
        ({"needs_attention": "false"}, ["ada", "cy", "bob"]),
        ({"status": "paid", "needs_attention": "false"}, ["ada", "cy"]),
        ({"q": "bob@example"}, ["bob"]),
        ({"q": "twombly"}, ["cy"]),
    ],
)
def test_each_filter_and_search_gives_exactly_its_orders(
    staff_client, orders, query, expected
):
    response = staff_client("Merchants").get("/admin/orders/", query)

    assert response.status_code == 200
    assert references(response) == refs(orders, *expected)


def test_search_by_reference(staff_client, orders):
    response = staff_client("Merchants").get(
        "/admin/orders/", {"q": orders["cy"].reference.lower()}
    )

    assert references(response) == refs(orders, "cy")


EXPORT_HEADINGS = [
    "Reference",
    "Created at",
    "Paid at",
    "Name",
    "Email",
    "Status",
    "Currency",
    "Subtotal",
    "Discount",
    "Shipping method",
    "Shipping",
    "Tax",
    "Tax name",
    "Tax percent",
    "Prices include tax",
    "Total",
    "Amount refunded",
    "Coupon code",
    "Country",
    "State or province",
    "Needs attention",
    "Amount at stake",
]


def test_csv_export_has_the_filtered_orders_and_money_as_numbers(staff_client, orders):
    merchant = staff_client("Merchants")

    response = merchant.get(
        "/admin/orders/",
        {"status": "paid", "needs_attention": "false", "export": "csv"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    rows = sorted(reader, key=lambda row: row["Email"])
    assert reader.fieldnames == EXPORT_HEADINGS
    assert [
        (row["Reference"], row["Email"], row["Subtotal"], row["Discount"])
        + (row["Total"], row["Coupon code"], row["Status"])
        for row in rows
    ] == [
        (orders["ada"].reference, "ada@example.com", "10.00", "0.00")
        + ("10.00", "", "paid"),
        (orders["cy"].reference, "cy@example.com", "45.50", "4.55")
        + ("40.95", "WELCOME10", "paid"),
    ]


def test_xlsx_export_has_the_filtered_orders_and_money_as_numbers(staff_client, orders):
    response = staff_client("Merchants").get(
        "/admin/orders/", {"coupon_code": "WELCOME10", "export": "xlsx"}
    )

    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header, *rows = list(sheet.values)
    assert list(header) == EXPORT_HEADINGS
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Reference"] == orders["cy"].reference
    money = [row[name] for name in ("Subtotal", "Discount", "Total")]
    assert all(isinstance(value, int | float) for value in money)
    assert [Decimal(str(value)) for value in money] == [
        Decimal("45.5"),
        Decimal("4.55"),
        Decimal("40.95"),
    ]


def test_inspect_shows_lines_history_invoice_and_payment(staff_client, orders):
    paid = orders["ada"]

    response = staff_client("Merchants").get(f"/admin/orders/inspect/{paid.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Cart Red 2020" in html and "CART-RED" in html
    assert f"/orders/invoices/{paid.invoice.number}.pdf" in html
    assert (
        f"https://dashboard.stripe.com/test/payments/{paid.stripe_payment_intent_id}"
        in html
    )
    assert f"webhook {paid.history.get().cause.split()[1]}" in html
    assert f"Your Cellar order {paid.reference} is paid" in html  # the email sent
    for action in ("refund", "resend_invoice", "regenerate_invoice", "ship"):
        assert f"/admin/orders/{action}/{paid.pk}/" in html
    assert f"/admin/orders/clear_attention/{paid.pk}/" not in html


def test_inspect_of_a_flagged_order_shows_the_reason_and_the_way_to_clear_it(
    staff_client, orders
):
    flagged = orders["dee"]

    response = staff_client("Merchants").get(f"/admin/orders/inspect/{flagged.pk}/")

    html = response.content.decode()
    assert "<strong>Needs attention:</strong> Oversold: CART-RED ×1." in html
    assert f"/admin/orders/clear_attention/{flagged.pk}/" in html


def test_nobody_adds_or_edits_orders_by_hand(staff_client, orders):
    merchant = staff_client("Merchants")
    paid = orders["ada"]

    assert merchant.get("/admin/orders/new/").status_code == 302
    assert merchant.get(f"/admin/orders/edit/{paid.pk}/").status_code == 302
    assert merchant.post(f"/admin/orders/delete/{paid.pk}/").status_code == 302
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID


def test_merchants_see_the_stripe_event_ledger(staff_client, orders):
    response = staff_client("Merchants").get("/admin/stripe-events/")

    assert response.status_code == 200
    assert (
        sorted(event.type for event in response.context["object_list"])
        == ["checkout.session.completed"] * 3
    )


ORDER_ACTIONS = ["refund", "resend_invoice", "regenerate_invoice", "ship"]


def shop_urls(order, event):
    """Every admin URL of the shop: listings, exports, inspect pages, actions and
    reports."""
    reports = ["sales-by-day", "sales-by-wine", "sales-by-place", "coupon-use"]
    return [
        "/admin/orders/",
        "/admin/orders/results/",
        "/admin/orders/?export=csv",
        "/admin/orders/?export=xlsx",
        f"/admin/orders/inspect/{order.pk}/",
        f"/admin/orders/history/{order.pk}/",
        *[f"/admin/orders/{action}/{order.pk}/" for action in ORDER_ACTIONS],
        f"/admin/orders/clear_attention/{order.pk}/",
        "/admin/stripe-events/",
        "/admin/stripe-events/?export=csv",
        f"/admin/stripe-events/inspect/{event.pk}/",
        f"/admin/stripe-events/replay/{event.pk}/",
        "/admin/coupons/",
        *[f"/admin/shop-reports/{report}/" for report in reports],
        *[f"/admin/shop-reports/{report}/?export=xlsx" for report in reports],
    ]


def test_editors_see_nothing_of_the_shop_and_change_nothing(
    staff_client, orders, django_capture_on_commit_callbacks
):
    editor = staff_client("Editors")
    paid = orders["ada"]
    event = StripeEvent.objects.first()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        answers = {url: editor.get(url) for url in shop_urls(paid, event)} | {
            f"POST {url}": editor.post(url, {"tracking_number": "X", "note": "x"})
            for url in shop_urls(paid, event)
            if "/orders/" in url and url.split("/")[3] in ORDER_ACTIONS
        }
    invoice = editor.get(f"/orders/invoices/{paid.invoice.number}.pdf")

    refused = {
        url: response.status_code
        for url, response in answers.items()
        if response.status_code == 403
        or (response.status_code == 302 and response["Location"] == "/admin/")
    }
    assert refused == {url: answers[url].status_code for url in answers}
    assert invoice.status_code == 404
    paid.refresh_from_db()
    assert (paid.status, paid.shipped_at, paid.stripe_refund_id) == ("paid", None, "")
    assert mail.outbox == []
    home = editor.get("/admin/").content.decode()
    assert "Shop" not in [item.label for item in editor_menu(editor)]
    assert "shop-summary-heading" not in home


def editor_menu(client):
    request = client.get("/admin/").wsgi_request
    return admin_menu.menu_items_for_request(request)


def test_strangers_are_sent_to_the_login(orders):
    event = StripeEvent.objects.first()
    for url in shop_urls(orders["ada"], event):
        response = Client().get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


def test_merchants_reach_every_shop_url(staff_client, orders):
    merchant = staff_client("Merchants")
    event = StripeEvent.objects.first()
    flagged = orders["dee"]

    for url in shop_urls(orders["ada"], event):
        url = url.replace(
            f"clear_attention/{orders['ada'].pk}", f"clear_attention/{flagged.pk}"
        )
        assert merchant.get(url).status_code == 200, url


def test_merchants_cannot_edit_or_add_pages(staff_client, wines):
    merchant = staff_client("Merchants")
    wine = WinePage.objects.get(pk=wines["red"].page_id)
    region = wine.get_parent()

    edit = merchant.get(f"/admin/pages/{wine.pk}/edit/")
    post = merchant.post(f"/admin/pages/{wine.pk}/edit/", {"title": "Hacked"})
    add = merchant.get(f"/admin/pages/add/products/winepage/{region.pk}/")

    # Wagtail answers a page permission refusal with a redirect to the dashboard.
    for response in (edit, post, add):
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert WinePage.objects.get(pk=wine.pk).title == wine.title
