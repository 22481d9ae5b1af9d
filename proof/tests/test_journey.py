"""The whole journey, three people, one live server and a real Celery worker on Redis.

An editor publishes a new wine; a shopper finds it, buys both its sizes and another
wine with a coupon, pays on the emulator's page and receives the invoice by email;
a merchant finds the order, downloads the invoice and refunds it.
"""

import email
import re
import subprocess
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from wagtail.images import get_image_model

from coupons.models import Coupon
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.models import RegionPage, WinePage, WineVariant

pytestmark = pytest.mark.browser

PASSWORD = "journey-pw-1234"
SHOPPER = "ada.journey@example.com"
NEW_WINE = "Journey Hill Reserve"
PRICES = (Decimal("24.00"), Decimal("132.00"))


@pytest.fixture
def cast(db_reads):
    """An editor and a merchant (committed); everything the journey made goes."""
    User = get_user_model()
    people = {}
    for username, group in (
        ("journey-editor", "Editors"),
        ("journey-merchant", "Merchants"),
    ):
        user = User.objects.create_user(username, password=PASSWORD)
        user.groups.add(Group.objects.get(name=group))
        people[group] = user
    other = (
        WineVariant.objects.filter(active=True, stock__gte=5, page__live=True)
        .order_by("pk")
        .first()
    )
    welcome = Coupon.objects.get(code="WELCOME10")
    try:
        yield other
    finally:
        orders = Order.objects.filter(email=SHOPPER)
        Invoice.objects.filter(order__in=orders).delete()
        orders.delete()
        Customer.objects.filter(email__iexact=SHOPPER).delete()
        for wine in WinePage.objects.filter(title=NEW_WINE):
            wine.delete()
        WineVariant.objects.filter(pk=other.pk).update(stock=other.stock)
        Coupon.objects.filter(pk=welcome.pk).update(times_used=welcome.times_used)
        for user in people.values():
            user.delete()


@pytest.fixture
def mailbox(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


def wait_for(condition, timeout=60, message="condition"):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.3)
    return result


def written_mail(folder):
    """The first email the worker's file backend has finished writing (it ends each
    message with a line of dashes), or None: a file may be seen half written."""
    for path in sorted(folder.glob("*.log")):
        raw = path.read_bytes()
        if raw.rstrip().endswith(b"-" * 79):
            return email.message_from_bytes(raw.rstrip().removesuffix(b"-" * 79))
    return None


def sign_in(page, server, username):
    page.context.clear_cookies()
    page.goto(f"{server.url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/")


def test_editor_publishes_shopper_buys_merchant_refunds(
    page,
    shop_server,
    screenshots,
    cast,
    celery_worker,
    mailbox,
    settings,
    fill_checkout,
):
    try:
        journey(
            page,
            shop_server,
            screenshots,
            cast,
            celery_worker,
            mailbox,
            settings,
            fill_checkout,
        )
    except Exception:
        page.screenshot(path=screenshots / "journey-failure.png", full_page=True)
        raise


def journey(
    page,
    shop_server,
    screenshots,
    cast,
    celery_worker,
    mailbox,
    settings,
    fill_checkout,
):
    settings.SITE_URL = shop_server.url
    settings.STRIPE_EMULATOR_AUTO_DELIVER = True
    settings.STRIPE_EMULATOR_WEBHOOK_URL = f"{shop_server.url}/checkout/webhook/"
    # Wagtail autosaves the editor's form whenever it changes. Whether a save
    # lands, or pauses on a half-filled variant row, depends on timing, and a
    # publish posted while one is in flight creates the page twice. The
    # journey is about what the editor does, so it runs without autosave.
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    worker = celery_worker(EMAIL_FILE_PATH=str(mailbox))
    other = cast
    shot = iter(range(100))

    def snap(name):
        page.screenshot(
            path=screenshots / f"journey-{next(shot):02d}-{name}.png", full_page=True
        )

    # 1. The editor creates the wine under an existing region, previews, publishes
    region = RegionPage.objects.live().order_by("path").first()
    image = get_image_model().objects.filter(title__startswith="Bottle").first()
    sign_in(page, shop_server, "journey-editor")
    page.goto(f"{shop_server.url}/admin/pages/{region.pk}/")
    page.get_by_role("link", name="Add child page").first.click()
    page.wait_for_url(re.compile(r".*/admin/pages/add/products/winepage/\d+/$"))
    page.locator("#id_title").fill(NEW_WINE)
    page.locator("#id_producer").fill("Domaine du Voyage")
    page.locator("#id_vintage").fill("2021")
    page.get_by_role("button", name="Choose an image").click()
    modal = page.locator(".modal-dialog")
    modal.locator("input[name='q']").fill(image.title)
    choice = modal.locator("[data-chooser-modal-choice]").filter(has_text=image.title)
    choice.first.wait_for()
    snap("editor-image-chooser")
    choice.first.click()
    page.get_by_text(image.title, exact=True).wait_for()
    page.get_by_role("tab", name="Details").click()
    page.locator("#id_abv").fill("13.5")
    page.get_by_role("tab", name="Variants").click()
    page.locator("#id_variants-0-label").fill("75 cl bottle")
    page.locator("#id_variants-0-sku").fill("JRN-75")
    page.locator("#id_variants-0-price").fill(str(PRICES[0]))
    page.locator("#id_variants-0-stock").fill("12")
    page.get_by_role("button", name="Add variant").click()
    page.locator("#id_variants-1-label").fill("Case of 6")
    page.locator("#id_variants-1-sku").fill("JRN-C6")
    page.locator("#id_variants-1-price").fill(str(PRICES[1]))
    page.locator("#id_variants-1-stock").fill("4")
    snap("editor-variants")
    page.get_by_role("button", name="Toggle preview").click()
    preview = page.frame_locator("#w-preview-iframe")
    preview.get_by_role("heading", name=re.compile(NEW_WINE)).wait_for()
    snap("editor-preview")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    page.get_by_text(f"Page '{NEW_WINE}' created and published.").wait_for()
    snap("editor-published")
    wine = WinePage.objects.live().get(title=NEW_WINE)
    assert wine.get_parent().pk == region.pk
    assert sorted(wine.variants.values_list("sku", "price", "stock")) == [
        ("JRN-75", PRICES[0], 12),
        ("JRN-C6", PRICES[1], 4),
    ]
    assert wine.image_id == image.pk

    # 2. A shopper finds it by search and buys both sizes and another wine
    page.context.clear_cookies()
    page.goto(shop_server.url + "/")
    page.get_by_label("Search wines").fill("Journey Hill")
    page.get_by_label("Search wines").press("Enter")
    page.get_by_role("link", name=re.compile(NEW_WINE)).first.click()
    page.wait_for_url(f"**{wine.url}")
    for label in ("75 cl bottle", "Case of 6"):
        page.get_by_label(re.compile(label)).check()
        page.get_by_role("button", name="Add to cart").click()
        page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()
    snap("shopper-wine")
    page.goto(shop_server.url + other.page.url)
    page.get_by_role("button", name="Add to cart").click()
    page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()

    page.goto(shop_server.url + "/cart/")
    subtotal = sum(PRICES) + other.price
    discount = (subtotal / 10).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    goods = subtotal - discount
    page.get_by_label("Coupon code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/cart/")
    assert page.locator("[data-cart-total]").inner_text() == f"${goods:,}"
    snap("shopper-cart")
    page.get_by_role("link", name="Check out").click()
    fill_checkout(
        page, SHOPPER, "Ada Journey", "1 Analytical Row", "London", "EC1A 1BB", "GB"
    )
    pay = page.get_by_role("button", name=re.compile(r"^Pay .* securely$"))
    quoted = Decimal(pay.inner_text().split("$")[1].split(" ")[0].replace(",", ""))
    pay.click()
    page.wait_for_url(re.compile(r".*/_stripe/pay/cs_test_\w+$"))
    # The demo sends to London by international courier with 20% VAT added
    # (exact arithmetic: checkout/tests/test_shipping_tax.py)
    placed = Order.objects.get(email=SHOPPER)
    assert (placed.shipping_method, placed.tax_name) == (
        "International courier",
        "VAT",
    )
    assert placed.total == goods + placed.shipping + placed.tax == quoted
    total = placed.total
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Ada Journey")
    snap("shopper-pays")
    page.get_by_role("button", name=f"Pay ${total:,}").first.click()
    order = Order.objects.get(email=SHOPPER)
    page.wait_for_url(f"**/orders/{order.token}/")
    assert page.locator("[data-order-status]").get_attribute("data-order-status") == (
        "paid"
    )
    assert page.locator("[data-order-total]").inner_text() == f"${total:,}"
    snap("shopper-paid")

    # The worker renders the invoice and mails it with the PDF
    mime = wait_for(
        lambda: written_mail(mailbox),
        message=f"the invoice email; worker log: {worker.log}",
    )
    assert mime["To"] == SHOPPER
    assert mime["Subject"] == f"Your Cellar order {order.reference} is paid"
    [pdf] = [
        part for part in mime.walk() if part.get_content_type() == "application/pdf"
    ]
    pdf_file = mailbox / pdf.get_filename()
    pdf_file.write_bytes(pdf.get_payload(decode=True))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_file), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(rf"Total USD\s+{re.escape(f'{total:,}')}\n", text), text
    assert re.search(r"Discount \(WELCOME10\)\s+−" + re.escape(f"{discount}"), text)
    assert NEW_WINE in text
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-singlefile",
            str(pdf_file),
            str(screenshots / "journey-invoice"),
        ],
        check=True,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.total == total
    assert "generate_invoice" in worker.log.read_text()

    # 3. The merchant finds it among paid orders, downloads the invoice, refunds it
    sign_in(page, shop_server, "journey-merchant")
    page.goto(f"{shop_server.url}/admin/orders/?status=paid")
    row = page.locator("tr", has_text=order.reference)
    row.get_by_role("link", name=order.reference).click()
    page.get_by_role("heading", name=f"Order {order.reference} · Paid").wait_for()
    snap("merchant-order")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"{order.invoice.number}.pdf"
    page.get_by_role("link", name="Refund", exact=True).click()
    page.get_by_role("button", name="Refund through Stripe").click()
    page.get_by_role("heading", name=f"Order {order.reference} · Refunded").wait_for()
    snap("merchant-refunded")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == total
    assert order.history.filter(to_status=OrderStatus.REFUNDED).count() == 1
