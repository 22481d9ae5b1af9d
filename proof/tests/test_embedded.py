"""The embedded default, served as `make run` serves it: the dev settings, a SQLite
file, no Redis (tasks run in-process, beat's sweeps on a thread), the Stripe
emulator delivering its webhooks from its own thread to the running server.

The server is a real `manage.py runserver` process in a process group of its own,
stopped however the tests end. Mail goes to an SMTP server the tests run, which can
refuse a message to show that a failed email is retried.
"""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import types
from email import message_from_bytes
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller

from checkout.tests.conftest import CONTACT as CHECKOUT_FORM

# The first test also builds the shop (migrate, demo data, server): minutes on a
# busy machine.
pytestmark = pytest.mark.timeout(900)

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "artifacts"
SHOPPERS = 30
CARD = {
    "card_number": "4242 4242 4242 4242",
    "expiry": "12 / 34",
    "cvc": "123",
    "name": "Embedded Shopper",
}
CONTACT = {**CHECKOUT_FORM, "name": "Embedded Shopper"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Settings `make run` does not have; the server must not inherit them from CI.
NOT_IN_MAKE_RUN = (
    "DATABASE_URL",
    "REDIS_URL",
    "SESSION_REDIS_URL",
    "CELERY_BROKER_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "EMAIL_FILE_PATH",
    "DJANGO_SETTINGS_MODULE",
    "CI",
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, why):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, why()
        time.sleep(0.25)
    return result


class Mailbox:
    """An SMTP server's handler: keeps each accepted message; ``refuse`` answers
    the next messages with a temporary failure (451), as a busy server does."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.refused = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                self.refused.append(envelope.rcpt_tos)
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address):
        with self.lock:
            return [message for message in self.messages if message["To"] == address]


@pytest.fixture(scope="module")
def mailbox():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield types.SimpleNamespace(handler=handler, port=controller.port)
    finally:
        controller.stop()


def stop_group(process, timeout=20):
    """Stop a process and everything it started (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def embedded_shop(tmp_path_factory, mailbox):
    """`make run`'s recipe (migrate, load_demo_data, runserver) on a fresh SQLite
    file; yields the server's URL, database path and log."""
    folder = tmp_path_factory.mktemp("embedded")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = folder / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_MAKE_RUN}
    env |= {
        "DJANGO_SETTINGS_MODULE": "cellar.settings.dev",
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "STRIPE_SECRET_KEY": "",
        "SITE_URL": url,
        "MEDIA_ROOT": str(folder / "media"),
        "PRIVATE_MEDIA_ROOT": str(folder / "private"),
        "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
        "DEMO_PASSWORD": "embedded-pw-1234",
        "PYTHONUNBUFFERED": "1",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "embedded-server.log"
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["load_demo_data", "--wines", "12"]):
        subprocess.run(
            manage + command,
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
    with log.open("w") as output:
        server = subprocess.Popen(
            manage + ["runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def up():
            assert server.poll() is None, log.read_text()
            try:
                return requests.get(f"{url}/healthz", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(up, 120, lambda: f"the server did not start: {log.read_text()}")
        yield types.SimpleNamespace(url=url, database=database, log=log, port=port)
    finally:
        stop_group(server)


def query(shop, sql, *params):
    with sqlite3.connect(f"file:{shop.database}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(sql, params).fetchall()


def buyable_variants(shop):
    """{variant id: stock} of every variant a shopper can buy, most stock first."""
    return dict(
        query(
            shop,
            "SELECT v.id, v.stock FROM products_winevariant v "
            "JOIN wagtailcore_page p ON p.id = v.page_id "
            "WHERE v.active AND p.live AND v.stock > 0 ORDER BY v.stock DESC, v.id",
        )
    )


def wine_path(shop, variant):
    [(url_path,)] = query(
        shop,
        "SELECT p.url_path FROM wagtailcore_page p "
        "JOIN products_winevariant v ON v.page_id = p.id WHERE v.id = ?",
        variant,
    )
    return url_path.removeprefix("/home")


def token(response):
    match = TOKEN.search(response.text)
    assert match, response.text[:2000]
    return match.group(1)


class Shopper:
    """One browser's worth of requests, each answer's status kept."""

    def __init__(self, shop, email):
        self.shop = shop
        self.email = email
        self.http = requests.Session()
        self.answers = []

    def get(self, url):
        return self._keep(self.http.get(self._url(url), timeout=120))

    def post(self, url, data):
        return self._keep(
            self.http.post(
                self._url(url), data=data, timeout=120, allow_redirects=False
            )
        )

    def follow(self, response):
        while response.status_code in (301, 302, 303):
            response = self._keep(
                self.http.get(
                    self._url(response.headers["Location"]),
                    timeout=120,
                    allow_redirects=False,
                )
            )
        return response

    def _url(self, url):
        return url if url.startswith("http") else self.shop.url + url

    def _keep(self, response):
        for answer in [*response.history, response]:
            self.answers.append((answer.request.method, answer.url, answer.status_code))
        return response

    def check_out(self, variant):
        wine = self.get(wine_path(self.shop, variant))
        added = self.post(
            "/cart/add/",
            {"variant": variant, "quantity": 1, "csrfmiddlewaretoken": token(wine)},
        )
        assert added.status_code == 302, added.text[:2000]
        page = self.get("/checkout/")
        started = self.post(
            "/checkout/",
            {**CONTACT, "email": self.email, "csrfmiddlewaretoken": token(page)},
        )
        assert started.status_code == 303, started.text[:2000]
        return started.headers["Location"]

    def pay(self, pay_url):
        page = self.get(pay_url)
        paid = self.post(
            pay_url,
            {**CARD, "email": self.email, "csrfmiddlewaretoken": token(page)},
        )
        assert paid.status_code == 303, paid.text[:2000]
        return self.follow(paid)


def server_errors(shoppers):
    return [a for s in shoppers for a in s.answers if a[2] >= 500]


def fulfilled(shop, emails):
    marks = ",".join("?" * len(emails))
    return query(
        shop,
        "SELECT o.email, o.status, i.status, i.emailed_at IS NOT NULL, "
        "(SELECT COUNT(*) FROM checkout_orderemail e "
        " WHERE e.order_id = o.id AND e.kind = 'paid') "
        f"FROM checkout_order o LEFT JOIN checkout_invoice i ON i.order_id = o.id "
        f"WHERE o.email IN ({marks}) ORDER BY o.email",
        *emails,
    )


def test_thirty_payments_whose_success_pages_race_the_webhook(embedded_shop, mailbox):
    # Given 30 shoppers, each with a wine in the cart and a Checkout Session open
    shop = embedded_shop
    stock = buyable_variants(shop)
    picks = [v for v, left in stock.items() for _ in range(min(left, 3))][:SHOPPERS]
    assert len(picks) == SHOPPERS
    shoppers = [Shopper(shop, f"embedded-{n:02d}@example.com") for n in range(30)]
    pay_urls = [s.check_out(v) for s, v in zip(shoppers, picks, strict=True)]

    # When all 30 pay at once: each lands on the success page while the emulator's
    # thread delivers checkout.session.completed to the same server
    start = threading.Barrier(SHOPPERS)
    landed, failures = {}, []

    def pay(shopper, url):
        try:
            start.wait(timeout=60)
            landed[shopper.email] = shopper.pay(url)
        except Exception as error:  # reported below, with the server's log
            failures.append((shopper.email, repr(error)))

    threads = [
        threading.Thread(target=pay, args=pair)
        for pair in zip(shoppers, pay_urls, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    # Then no answer was an error, every shopper saw their paid order, and every
    # order has its invoice and one email, in the mailbox once
    log = shop.log.read_text()
    assert failures == [], log[-5000:]
    assert server_errors(shoppers) == [], log[-5000:]
    assert "database is locked" not in log
    for shopper in shoppers:
        page = landed[shopper.email]
        assert page.status_code == 200
        assert re.search(r"/orders/[\w-]+/$", page.url), page.url
        assert 'data-order-status="paid"' in page.text
    emails = [s.email for s in shoppers]
    expected = [(email, "paid", "ready", 1, 1) for email in emails]
    wait_until(
        lambda: fulfilled(shop, emails) == expected,
        240,
        lambda: f"{fulfilled(shop, emails)}\n{log[-3000:]}",
    )
    assert [len(mailbox.handler.to(email)) for email in emails] == [1] * SHOPPERS
    for email in emails:
        [message] = mailbox.handler.to(email)
        attachments = [
            part.get_filename()
            for part in message.walk()
            if part.get_content_type() == "application/pdf"
        ]
        assert len(attachments) == 1 and attachments[0].startswith("INV-")
    sold = buyable_variants(shop)
    for variant in set(picks):
        assert stock[variant] - sold.get(variant, 0) == picks.count(variant)


def test_a_refused_invoice_email_is_sent_once_on_retry(embedded_shop, mailbox):
    # Given a mail server that refuses the next message
    shop = embedded_shop
    mailbox.handler.refuse = 1
    shopper = Shopper(shop, "embedded-retry@example.com")
    variant = next(iter(buyable_variants(shop)))

    # When the shopper pays
    page = shopper.pay(shopper.check_out(variant))

    # Then the order is paid, the invoice made, and the email sent exactly once
    assert page.status_code == 200 and 'data-order-status="paid"' in page.text
    assert server_errors([shopper]) == []
    expected = [(shopper.email, "paid", "ready", 1, 1)]
    wait_until(
        lambda: fulfilled(shop, [shopper.email]) == expected,
        120,
        lambda: f"{fulfilled(shop, [shopper.email])}\n{shop.log.read_text()[-3000:]}",
    )
    assert mailbox.handler.refused == [[shopper.email]]
    assert len(mailbox.handler.to(shopper.email)) == 1
    [(error,)] = query(
        shop,
        "SELECT i.last_error FROM checkout_invoice i JOIN checkout_order o "
        "ON o.id = i.order_id WHERE o.email = ?",
        shopper.email,
    )
    assert error.startswith("Email: SMTPDataError")


def test_absolute_urls_carry_the_servers_port(embedded_shop):
    # Given the shop served on a port of its own (SITE_URL)
    shop = embedded_shop

    # When the sitemap and a wine page are read
    sitemap = requests.get(f"{shop.url}/sitemap.xml", timeout=30)
    locations = re.findall(r"<loc>([^<]+)</loc>", sitemap.text)
    wine_url = shop.url + wine_path(shop, next(iter(buyable_variants(shop))))
    wine = requests.get(wine_url, timeout=30)
    [ld] = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', wine.text, re.S
    )

    # Then every absolute URL is one a browser can open on this server
    assert sitemap.status_code == 200 and wine.status_code == 200
    assert locations and all(loc.startswith(shop.url + "/") for loc in locations)
    assert wine_url in locations
    assert json.loads(ld)["url"] == wine_url


@pytest.mark.browser
def test_a_shopper_pays_in_a_browser_and_gets_the_invoice(
    embedded_shop, page, screenshots, fill_checkout
):
    shop = embedded_shop
    variant = next(v for v, left in buyable_variants(shop).items() if left >= 2)
    shot = iter(range(100))

    def snap(name):
        path = screenshots / f"embedded-{next(shot):02d}-{name}.png"
        page.screenshot(path=path, full_page=True)

    try:
        # Given a wine in the cart
        page.goto(shop.url + wine_path(shop, variant))
        page.locator(f"input[name='variant'][value='{variant}']").check()
        page.get_by_role("button", name="Add to cart").click()
        page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()

        # When a wrong code is refused, the next form still lands on the cart
        page.goto(shop.url + "/cart/")
        page.get_by_label("Coupon code").fill("NOPE")
        page.get_by_role("button", name="Apply").click()
        page.get_by_text("That code is not valid.").wait_for()
        snap("coupon-refused")
        page.get_by_label("Coupon code").fill("WELCOME10")
        with page.expect_navigation() as applied:
            page.get_by_role("button", name="Apply").click()
        assert applied.value.status == 200
        assert page.url == shop.url + "/cart/"

        # And the shopper checks out and pays on the emulator's page
        page.get_by_role("link", name="Check out").click()
        fill_checkout(
            page,
            "embedded-browser@example.com",
            "Ada Embedded",
            "1 Analytical Row",
            "London",
            "EC1A 1BB",
            "GB",
        )
        page.get_by_role("button", name=re.compile(r"^Pay .* securely$")).click()
        page.wait_for_url(re.compile(r".*/_stripe/pay/cs_test_\w+$"))
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Name on card").fill("Ada Embedded")
        page.get_by_role("button", name=re.compile(r"^Pay ")).first.click()
        page.wait_for_url(re.compile(r".*/orders/[\w-]+/$"))

        # Then the order page says paid, and soon that the invoice was emailed
        status = page.locator("[data-order-status]")
        assert status.get_attribute("data-order-status") == "paid"

        def invoice_sent():
            page.reload()
            progress = page.locator("[data-invoice-progress]")
            return progress.get_attribute("data-invoice-progress") == "sent"

        wait_until(invoice_sent, 60, lambda: shop.log.read_text()[-3000:])
        snap("paid")
        link = page.locator("[data-invoice-link]").get_attribute("href")
        pdf = page.request.get(shop.url + link)
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
    except Exception:
        snap("failure")
        raise


def test_search_finds_across_words_and_typos_on_sqlite(embedded_shop):
    # Given the shop on SQLite, whose full-text search is SQLite's own
    shop = embedded_shop

    def cards(query):
        page = requests.get(f"{shop.url}/search/", params={"q": query}, timeout=30)
        assert page.status_code == 200
        matched = re.search(r'data-search-matched="(\w*)"', page.text)[1]
        return matched, re.findall(r'class="wine-card__link" href="([^"]+)"', page.text)

    # Then every word counts, a typo is corrected, and nothing suggests grapes
    matched, barolos = cards("barolo")
    assert matched == "all" and barolos
    assert all("/piedmont/" in url and "barolo" in url for url in barolos)
    matched, burgundies = cards("pinot noir burgundy")
    assert matched == "all" and burgundies
    assert all("/burgundy/" in url for url in burgundies)
    assert cards("barollo") == ("corrected", barolos)
    matched, none = cards("zzzqqq")
    assert (matched, none) == ("", [])
    # A stray quote is not SQLite's full-text syntax here
    assert cards('barolo "') == ("all", barolos)
