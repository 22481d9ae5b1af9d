"""Sales reports and the admin home panel give exact figures for exact days."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order


@pytest.fixture
def sales(buy):
    """Today: Ada (1 × red, 10.00) and Cy (2 × red + 1 × white with WELCOME10:
    45.50 − 4.55 = 40.95). Five days ago: Dee (1 × white, 25.50), refunded.
    Twenty days ago: Eve (3 × red, 30.00). Bob never paid."""
    made = {
        "ada": buy(email="ada@example.com"),
        "cy": buy(lines=(("red", 2), ("white", 1)), coupon="WELCOME10"),
        "dee": buy(lines=(("white", 1),)),
        "eve": buy(lines=(("red", 3),)),
        "bob": buy(pay=False),
    }
    now = timezone.now()
    Order.objects.filter(pk=made["dee"].pk).update(
        paid_at=now - timedelta(days=5),
        status="refunded",
        amount_refunded=Decimal("25.50"),
    )
    Order.objects.filter(pk=made["eve"].pk).update(paid_at=now - timedelta(days=20))
    return made


def day(days_ago):
    return timezone.localdate() - timedelta(days=days_ago)


def rows(response, *keys):
    return [tuple(row[key] for key in keys) for row in response.context["object_list"]]


def test_sales_by_day(staff_client, sales):
    response = staff_client("Merchants").get("/admin/shop-reports/sales-by-day/")

    assert response.status_code == 200
    D = Decimal
    assert rows(
        response, "day", "orders", "subtotal", "discount", "total", "refunded", "net"
    ) == [
        (day(0), 2, D("55.50"), D("4.55"), D("50.95"), D("0.00"), D("50.95")),
        (day(5), 1, D("25.50"), D("0.00"), D("25.50"), D("25.50"), D("0.00")),
        (day(20), 1, D("30.00"), D("0.00"), D("30.00"), D("0.00"), D("30.00")),
    ]
    cells = re.findall(r"<td[^>]*>\s*([\d.]+)\s*</td>", response.content.decode())
    # orders, subtotal, discount, sales less tax and shipping, shipping, tax,
    # total, refunded, net (this shop charges no shipping or tax: test_shipping_tax)
    assert cells[:9] == [
        *("2", "55.50", "4.55", "50.95", "0.00", "0.00"),
        *("50.95", "0.00", "50.95"),
    ]


def test_the_date_range_filters_before_grouping(staff_client, sales):
    response = staff_client("Merchants").get(
        "/admin/shop-reports/sales-by-wine/",
        {"paid_at_from": day(6).isoformat(), "paid_at_to": day(0).isoformat()},
    )

    assert rows(response, "sku", "orders", "units", "revenue") == [
        ("CART-WHITE", 2, 2, Decimal("51.00")),
        ("CART-RED", 2, 3, Decimal("30.00")),
    ]


def test_sales_by_country_and_region(staff_client, sales):
    response = staff_client("Merchants").get("/admin/shop-reports/sales-by-place/")

    assert rows(response, "country", "region", "orders", "units", "revenue") == [
        ("Cartland", "Basket Valley", 4, 8, Decimal("111.00"))
    ]


def test_coupon_use_and_discount_given(staff_client, sales):
    response = staff_client("Merchants").get("/admin/shop-reports/coupon-use/")

    assert rows(response, "coupon_code", "orders", "discount", "total") == [
        ("WELCOME10", 1, Decimal("4.55"), Decimal("40.95"))
    ]


def test_reports_export_what_they_show(staff_client, sales):
    response = staff_client("Merchants").get(
        "/admin/shop-reports/sales-by-day/",
        {"paid_at_from": day(6).isoformat(), "export": "csv"},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="sales-by-day.csv"'
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        [
            *("Day", "Orders", "Subtotal", "Discount", "Sales less tax and shipping"),
            *("Shipping less tax", "Tax", "Total", "Refunded", "Net"),
        ],
        [day(0).isoformat(), "2", "55.50", "4.55", "50.95"]
        + ["0.00", "0.00", "50.95", "0.00", "50.95"],
        [day(5).isoformat(), "1", "25.50", "0.00", "25.50"]
        + ["0.00", "0.00", "25.50", "25.50", "0.00"],
    ]


def test_admin_home_panel_for_merchants_only(staff_client, sales):
    Order.objects.filter(pk=sales["ada"].pk).update(needs_attention=True)
    Order.objects.filter(pk=sales["bob"].pk).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )

    merchant_home = staff_client("Merchants").get("/admin/").content.decode()
    editor_home = staff_client("Editors").get("/admin/").content.decode()

    for figure, value in [
        ("today-orders", "2"),
        ("today-revenue", "50.95"),
        ("week-orders", "3"),
        ("week-revenue", "50.95"),
    ]:
        assert f'data-figure="{figure}">{value}<' in merchant_home
    assert "1 order needs attention" in merchant_home
    assert "1 pending payment older than an hour" in merchant_home
    assert 'href="/admin/orders/?needs_attention=true"' in merchant_home
    assert "shop-summary-heading" not in editor_home
