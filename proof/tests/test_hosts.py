"""The shop on several hosts behind one address (proof/hosts.py deploys it).

Two web hosts, a worker host and a data host, in network namespaces on this
machine, behind HAProxy spreading requests round-robin with no stickiness. Each
test walks through the balancer as shoppers and an editor would; whichever host
answers a request must not matter, and losing one must lose no order.
"""

import json
import re
import threading
import time
from decimal import Decimal

import pytest

from conftest import ARTIFACTS, require
from proof.hosts import (
    BASE_DIR,
    HOST_PORTS,
    PASSWORD,
    Deployment,
    Shopper,
    compose,
    compose_command,
    compose_healthcheck,
    dockerfile_cmd,
    missing_tools,
)

pytestmark = pytest.mark.timeout(900)

EMAIL = "hosts.shopper@example.com"
CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}
ADDRESS = {
    "name": "Hana Hosts",
    "address_line1": "2 Balancer Row",
    "city": "Albany",
    "postal_code": "12207",
    "state": "NY",
    "country": "US",
    "legal_age": "on",
}


def test_the_dockerfile_and_compose_agree_on_the_web_host():
    """What the deployment reads from each file is the same in both."""
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    check = re.search(r"^\s+CMD (\[.*\])\s*$", dockerfile, re.MULTILINE)
    assert json.loads(check[1]) == compose_healthcheck("web")
    assert "command" not in compose()["services"]["web"]  # it runs the image's CMD
    assert dockerfile_cmd()[:2] == ["sh", "-c"]
    assert dockerfile_cmd()[2].startswith("exec gunicorn cellar.wsgi:application")
    for service in ("worker", "beat"):
        assert compose_command(service)[:3] == ["celery", "-A", "cellar"]


@pytest.fixture(scope="module")
def deployment():
    missing = missing_tools()
    require(not missing, f"the several-hosts test needs {', '.join(missing)}")
    deployment = Deployment(logs=ARTIFACTS / "hosts")
    deployment.start(log=lambda message: print(message, flush=True))
    try:
        yield deployment
    finally:
        deployment.stop()


def shell(deployment, host, code):
    """Run ``code`` in Django's shell on ``host``; it binds ``result``, printed
    as JSON."""
    return deployment.manage(host, f"import json\n{code}\nprint(json.dumps(result))")


def a_wine(deployment, stock):
    return shell(
        deployment,
        "work",
        f"""
from products.models import WineVariant
variant = (
    WineVariant.objects.filter(active=True, page__live=True)
    .select_related("page").order_by("pk").first()
)
WineVariant.objects.filter(pk=variant.pk).update(stock={stock})
result = {{"url": variant.page.url, "variant": variant.pk, "title": variant.page.title,
          "page": variant.page.pk, "price": str(variant.price), "label": variant.label}}
""",
    )


def orders_of(deployment, emails):
    """Each order of these shoppers: status, how often it became paid, its
    Checkout Session's state at the emulator, invoice and emails."""
    return shell(
        deployment,
        "work",
        f"""
from orders.models import Order, OrderStatusChange
from orders.status import OrderStatus
from stripe_emulator import payments
result = []
for order in Order.objects.filter(email__in={emails!r}).order_by("pk"):
    session = payments.checkout_session(order.stripe_session_id or "") or {{}}
    invoice = getattr(order, "invoice", None)
    result.append({{
        "email": order.email,
        "token": order.token,
        "status": order.status,
        "paid_changes": OrderStatusChange.objects.filter(
            order=order, to_status=OrderStatus.PAID).count(),
        "session_paid": session.get("payment_status") == "paid",
        "bottles": sum(line.quantity for line in order.lines.all()),
        "invoice": invoice.status if invoice else None,
        "emailed": bool(invoice and invoice.emailed_at),
        "reference": order.reference,
    }})
""",
    )


def shipping_choice(page):
    match = re.search(r'name="shipping_method"[^>]*value="([^"]+)"', page.text)
    if match is None:
        match = re.search(r'value="([^"]+)"[^>]*name="shipping_method"', page.text)
    return {"shipping_method": match[1]} if match else {}


def buy(shopper, wine, email, quantity=1):
    """Wine page, cart, checkout, Stripe's page, back to the shop: the order's URL."""
    page = shopper.get(wine["url"])
    assert page.status == 200, page.status
    added = shopper.post(
        "/cart/add/", {"variant": wine["variant"], "quantity": quantity}
    )
    assert added.status == 302, added.status
    form = shopper.get("/checkout/")
    assert form.status == 200, form.status
    started = shopper.post(
        "/checkout/", {"email": email, **ADDRESS, **shipping_choice(form)}
    )
    assert started.status == 303, (started.status, started.text[:2000])
    pay_url = started.location
    assert "/_stripe/pay/cs_" in pay_url, pay_url
    session_id = pay_url.rstrip("/").rsplit("/", 1)[-1]
    assert shopper.get(pay_url).status == 200
    paid = shopper.post(pay_url, {"email": email, "name": ADDRESS["name"], **CARD})
    if paid.status == 200 and "already paid" in paid.text:
        # the host that took the payment died before it could answer; paying
        # again shows Stripe's "already paid" page, whose link goes back
        success_url = f"/checkout/success/?session_id={session_id}"
    else:
        assert paid.status == 303, (paid.status, paid.text[:2000])
        success_url = paid.location
    back = shopper.get(success_url)
    assert back.status == 302, back.status
    assert re.search(r"/orders/[^/]+/$", back.location), back.location
    return back.location


def wait_for(condition, timeout, what):
    return Deployment.wait_for(condition, timeout, what)


def test_a_shopper_walks_through_the_balancer_whichever_host_answers(deployment):
    wine = a_wine(deployment, stock=50)
    shell(
        deployment,
        "work",
        f"""
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
user = get_user_model().objects.create_user("hosts-shopper", {EMAIL!r}, {PASSWORD!r})
EmailAddress.objects.create(user=user, email={EMAIL!r}, verified=True, primary=True)
result = user.pk
""",
    )
    shopper = Shopper(deployment)
    # Cart: added through the balancer, whichever host took it
    assert shopper.get(wine["url"]).status == 200
    assert (
        shopper.post("/cart/add/", {"variant": wine["variant"], "quantity": 2}).status
        == 302
    )
    # ...and each web host alone (its own port on the balancer) shows it
    for port in HOST_PORTS.values():
        cart = shopper.at(port).get("/cart/")
        assert cart.status == 200 and wine["title"] in cart.text
        assert cart.served_by == {v: k for k, v in HOST_PORTS.items()}[port]
    # Sign in through the balancer; each host knows who it is and keeps the cart
    signed_in = shopper.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert signed_in.status == 302, signed_in.text[:2000]
    for port in HOST_PORTS.values():
        account = shopper.at(port).get("/account/")
        assert account.status == 200 and EMAIL in account.text
        api = json.loads(shopper.at(port).get("/cart/api/").body)
        assert sum(item["quantity"] for item in api["items"]) == 2, api

    # Checkout, payment, the webhook (the emulator posts it to the balancer)
    form = shopper.get("/checkout/")
    started = shopper.post(
        "/checkout/", {"email": EMAIL, **ADDRESS, **shipping_choice(form)}
    )
    assert started.status == 303, started.text[:2000]
    pay_url = started.location
    assert shopper.get(pay_url).status == 200
    paid = shopper.post(pay_url, {"email": EMAIL, "name": ADDRESS["name"], **CARD})
    assert paid.status == 303, paid.text[:2000]
    back = shopper.get(paid.location)
    order_url = back.location
    assert re.search(r"/orders/[^/]+/$", order_url), order_url

    # The worker host renders the invoice; either web host serves it
    def invoice_link():
        page = shopper.get(order_url)
        assert page.status == 200
        match = re.search(r'href="([^"]+)" data-invoice-link', page.text)
        return 'data-order-status="paid"' in page.text and match and match[1]

    link = wait_for(invoice_link, 120, "the paid order and its invoice")
    for port in HOST_PORTS.values():
        pdf = shopper.at(port).get(link)
        assert pdf.status == 200 and pdf.body.startswith(b"%PDF-")
    [order] = orders_of(deployment, [EMAIL])
    assert order == {
        "email": EMAIL,
        "token": order["token"],
        "status": "paid",
        "paid_changes": 1,
        "session_paid": True,
        "bottles": 2,
        "invoice": "ready",
        "emailed": True,
        "reference": order["reference"],
    }
    mails = [
        path.read_text(errors="replace")
        for path in deployment.mail.iterdir()
        if order["reference"] in path.read_text(errors="replace")
    ]
    assert len(mails) == 1 and "application/pdf" in mails[0]
    # Through the balancer, requests went round-robin, with no stickiness (the
    # emulator's webhooks share the rotation, so not strictly in turn)
    assert shopper.served_by.count("web1") >= 3 and shopper.served_by.count("web2") >= 3


@pytest.mark.browser
def test_a_price_published_on_one_host_shows_on_the_other(deployment, browser):
    wine = a_wine(deployment, stock=50)
    new_price = (Decimal(wine["price"]) + Decimal("7.37")).quantize(Decimal("0.01"))
    reader = Shopper(deployment, port=HOST_PORTS["web2"])
    for _ in range(3):  # web2 has the page cached, at the old price
        page = reader.get(wine["url"])
        assert page.status == 200 and wine["price"] in page.text
        assert str(new_price) not in page.text

    # Chromium reaches web1 alone at the balancer's address (no DNS here)
    host_a = f"https://{deployment.balancer_ip}:{HOST_PORTS['web1']}"
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"{host_a}/admin/login/")
        page.get_by_label("Username").fill("editor")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{host_a}/admin/")
        page.goto(f"{host_a}/admin/pages/{wine['page']}/edit/")
        page.get_by_role("tab", name="Variants").click()
        page.locator("#id_variants-0-price").fill(str(new_price))
        page.get_by_role("button", name="More actions").click()
        page.get_by_role("button", name="Publish").click()
        page.get_by_text("has been published").first.wait_for()
        published = time.monotonic()
    finally:
        context.close()

    while str(new_price) not in reader.get(wine["url"]).text:
        assert time.monotonic() - published < 5, "web2 never showed the new price"
        time.sleep(0.02)
    seen_after = time.monotonic() - published
    # CATALOGUE_VERSION_CHECK_SECONDS is 0.05; then web2 renders the page afresh
    # (some 30 ms idle, more on a busy machine), where a stale cache would wait
    # CATALOGUE_CACHE_SECONDS (600)
    assert seen_after < 3, seen_after
    assert set(reader.served_by) == {"web2"}
    # and the cart prices it on the server at the new price, through the balancer
    shopper = Shopper(deployment)
    shopper.get(wine["url"])
    shopper.post("/cart/add/", {"variant": wine["variant"], "quantity": 1})
    api = json.loads(shopper.get("/cart/api/").body)
    assert [Decimal(item["unit_price"]) for item in api["items"]] == [new_price], api


def test_killing_a_web_host_mid_burst_loses_no_order(deployment):
    wine = a_wine(deployment, stock=500)
    shoppers = 24
    emails = [f"burst{number}@example.com" for number in range(shoppers)]
    outcomes, errors, walkers = {}, [], []
    # Each host has rendered the wine page once, so web1 answers from the start
    for port in HOST_PORTS.values():
        assert Shopper(deployment, port).get(wine["url"]).status == 200

    def one(email):
        shopper = Shopper(deployment, retries=8)
        walkers.append(shopper)
        try:
            url = buy(shopper, wine, email)
            outcomes[email] = (url, shopper.served_by, shopper.retried)
        except Exception as error:  # noqa: BLE001 - reported below, with its shopper
            errors.append((email, repr(error)))

    def web1_served():
        return sum(walker.served_by.count("web1") for walker in list(walkers))

    threads = [threading.Thread(target=one, args=(email,)) for email in emails]
    for index, thread in enumerate(threads):
        thread.start()
        if index == shoppers // 2 - 1:
            # Half the shoppers are on their way and web1 has answered some of
            # them: web1 goes, the whole host (gunicorn's master and workers)
            wait_for(lambda: web1_served() >= 6, 60, "web1 to serve the burst")
            walking = sum(thread.is_alive() for thread in threads)
            deployment.kill("web1")
        elif index % 6 == 5:
            time.sleep(0.5)  # six shoppers at a time, more arriving
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sorted(outcomes) == sorted(emails)
    # The kill was mid-burst: shoppers were walking, web1 had served them, and
    # web2 served the rest
    assert walking >= 1, walking
    served = [host for _, hosts, _ in outcomes.values() for host in hosts]
    assert served.count("web1") > 0 and served.count("web2") > served.count("web1")
    retried = sum(retried for *_, retried in outcomes.values())
    print(f"{walking} shoppers walking at the kill; {retried} requests tried again")

    # Stripe retries what a dead host never delivered; here, the emulator's sweep
    deployment.run("work", ["python", "manage.py", "stripe_emulator", "deliver"])

    seen = {}

    def all_paid():
        seen["orders"] = orders = orders_of(deployment, emails)
        return sum(order["status"] == "paid" for order in orders) == shoppers

    def settled():
        if not all_paid():
            return False
        paid = [order for order in seen["orders"] if order["status"] == "paid"]
        return all(order["emailed"] for order in paid) and seen["orders"]

    # A host killed between a payment's commit and its invoice task's publish
    # leaves that invoice to beat's sweep, which runs every five minutes for
    # orders paid two minutes before: run now, as beat would within seven
    try:
        wait_for(all_paid, 120, "every shopper's order paid")
        swept = shell(
            deployment,
            "work",
            "from orders.tasks import queue_missing_invoices\n"
            "result = queue_missing_invoices(older_than_minutes=0)",
        )
        print(f"the sweep queued {swept} invoices again")
        orders = wait_for(settled, 180, "every shopper's invoice emailed")
    except TimeoutError as error:
        unsettled = [
            order
            for order in seen.get("orders", [])
            if order["status"] != "paid" or not order["emailed"]
        ]
        worker = deployment.log_text("worker")[-4000:]
        message = f"unsettled orders: {unsettled}\nworker:\n{worker}"
        raise AssertionError(message) from error
    paid = {order["email"]: order for order in orders if order["status"] == "paid"}
    # Every shopper: one paid order, the one whose page they were sent to
    assert sorted(paid) == sorted(emails)
    for email, (order_url, *_) in outcomes.items():
        assert order_url.endswith(f"/orders/{paid[email]['token']}/")
    # Every payment Stripe took has its order, paid once, with one invoice
    for order in orders:
        assert order["session_paid"] == (order["status"] == "paid"), order
        if order["status"] == "paid":
            assert order["paid_changes"] == 1 and order["invoice"] == "ready", order
    left = shell(
        deployment,
        "work",
        f"""
from products.models import WineVariant
result = WineVariant.objects.get(pk={wine["variant"]}).stock
""",
    )
    assert left == 500 - sum(order["bottles"] for order in paid.values())
