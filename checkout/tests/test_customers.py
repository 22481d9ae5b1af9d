"""Customers: one per email, one Stripe Customer each, prefill, merchant admin."""

import csv
import io
import threading
import time
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
import stripe
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout import stripe_api
from checkout.fulfilment import fulfil_checkout
from checkout.models import StripeEvent
from orders.customers import record_customer, returning_stripe_customer
from orders.models import Customer, Invoice, Order
from orders.status import OrderStatus
from products.models import WineVariant
from products.tests import factories
from stripe_emulator import client as emulator_client
from stripe_emulator import payments
from stripe_emulator.models import EmulatedObject

from .conftest import check_out, session_id_of


def shopper_with_cart(variant, client=None):
    client = client or Client()
    client.post("/cart/add/", {"variant": variant.pk, "quantity": 1})
    return client


def check_out_and_pay(client, **contact):
    """Check out, pay with 4242 and come back to the success page."""
    session_id = session_id_of(check_out(client, **contact))
    payments.pay(session_id, "4242424242424242")
    client.get(f"/checkout/success/?session_id={session_id}")
    return Order.objects.get(stripe_session_id=session_id)


def stripe_session(order):
    return emulator_client().v1.checkout.sessions.retrieve(order.stripe_session_id)


def stripe_customers(email):
    return EmulatedObject.objects.filter(type="customer", data__email__iexact=email)


def test_two_orders_by_one_email_in_two_cases_make_one_customer_and_one_stripe_customer(
    wines,
):
    # given: a first order, paid
    first = check_out_and_pay(
        shopper_with_cart(wines["red"]), email="Marie.Curie@Example.com"
    )
    first_session = stripe_session(first)
    customer = Customer.objects.get()

    # when: the same shopper comes back from another browser, typing another case
    second_client = shopper_with_cart(wines["white"])
    second_session_id = session_id_of(
        check_out(second_client, email="marie.curie@EXAMPLE.COM")
    )
    second_session = emulator_client().v1.checkout.sessions.retrieve(second_session_id)
    payments.pay(second_session_id, "4242424242424242")
    second = fulfil_checkout(second_session_id, cause="test")

    # then
    assert (first_session.customer_creation, first_session.customer_email) == (
        "always",
        "Marie.Curie@Example.com",
    )
    assert first_session.customer.startswith("cus_")
    assert (
        second_session.customer,
        second_session.customer_creation,
        second_session.customer_email,
    ) == (first_session.customer, None, None)
    customer.refresh_from_db()
    assert Customer.objects.count() == 1
    assert (customer.email, customer.name) == (
        "Marie.Curie@Example.com",
        "Ada Lovelace",
    )
    assert (customer.stripe_customer_id_test, customer.stripe_customer_id_live) == (
        first_session.customer,
        "",
    )
    assert stripe_customers("marie.curie@example.com").count() == 1
    assert [o.customer_id for o in (Order.objects.get(pk=first.pk), second)] == [
        customer.pk,
        customer.pk,
    ]
    assert second.stripe_customer_id == first_session.customer
    assert (customer.first_order_at, customer.last_order_at) == (
        Order.objects.get(pk=first.pk).paid_at,
        second.paid_at,
    )


def test_a_returning_shopper_whose_stripe_customer_was_deleted_gets_a_new_one(wines):
    # given: a customer whose Stripe Customer a merchant deleted in the dashboard
    check_out_and_pay(shopper_with_cart(wines["red"]), email="zoe@example.com")
    deleted_id = Customer.objects.get().stripe_customer_id_test
    emulator_client().v1.customers.delete(deleted_id)

    # when: they check out again and pay
    response = check_out(shopper_with_cart(wines["red"]), email="zoe@example.com")
    order = Order.objects.get(stripe_session_id=session_id_of(response))
    session = stripe_session(order)
    payments.pay(session.id, "4242424242424242")
    fulfil_checkout(session.id, cause="test")

    # then: Stripe was asked for a new Customer, which is kept
    assert (session.customer_creation, session.customer_email) == (
        "always",
        "zoe@example.com",
    )
    new_id = stripe_session(order).customer
    assert new_id not in ("", None, deleted_id)
    assert Customer.objects.get().stripe_customer_id_test == new_id
    assert Order.objects.get(pk=order.pk).stripe_customer_id == new_id


def test_the_latest_paid_order_gives_the_default_shipping_address(wines):
    check_out_and_pay(shopper_with_cart(wines["red"]), email="grace@example.com")

    check_out_and_pay(
        shopper_with_cart(wines["red"]),
        email="GRACE@example.com",
        name="Grace B. Hopper",
        address_line1="1 Navy Yard",
        city="Arlington",
        postal_code="22202",
        state="VA",
        country="US",
    )

    customer = Customer.objects.get()
    assert (
        customer.name,
        customer.address_line1,
        customer.city,
        customer.postal_code,
        customer.country.code,
    ) == ("Grace B. Hopper", "1 Navy Yard", "Arlington", "22202", "US")


def test_sessions_never_paid_make_no_customer(wines):
    # given: one session left open, one expired, one declined, one paid by a bank
    # debit that has not settled
    open_id, expired_id, declined_id, debit_id = (
        session_id_of(check_out(shopper_with_cart(wines["red"]), email=email))
        for email in (
            "o@example.com",
            "e@example.com",
            "d@example.com",
            "b@example.com",
        )
    )
    payments.expire(expired_id)
    with pytest.raises(payments.CardDeclined):
        payments.pay(declined_id, "4000000000000002")
    payments.pay(debit_id, method="bank_debit")

    # when: every way in asks about them
    for session_id in (open_id, expired_id, declined_id, debit_id):
        fulfil_checkout(session_id, cause="test")

    # then
    statuses = dict(Order.objects.values_list("email", "status"))
    assert statuses == {
        "o@example.com": OrderStatus.PENDING,
        "e@example.com": OrderStatus.CANCELLED,
        "d@example.com": OrderStatus.PENDING,
        "b@example.com": OrderStatus.PROCESSING,
    }
    assert Customer.objects.count() == 0
    assert Order.objects.filter(customer__isnull=False).count() == 0
    # Stripe makes its Customer when the session completes; ours waits for the money.
    stripe_customer = stripe_customers("b@example.com").get()
    payments.settle(debit_id, succeeded=True)
    order = fulfil_checkout(debit_id, cause="test")
    assert (order.status, order.customer.stripe_customer_id_test) == (
        OrderStatus.PAID,
        stripe_customer.pk,
    )


@pytest.fixture
def two_first_orders(committed_db):
    """Two shoppers with one email in two cases, each buying its own wine, both
    sessions paid and not yet fulfilled: (session ids, variants)."""
    country = factories.country("Twinland")
    region = factories.region("Same Valley", country)
    variants = [
        factories.wine(
            region, f"Twin {colour}", variants=[factories.variant("30.00", stock=5)]
        ).variants.get()
        for colour in ("Red", "White")
    ]
    sessions = []
    for variant, email in zip(
        variants, ("twin@example.com", "TWIN@example.com"), strict=True
    ):
        session_id = session_id_of(check_out(shopper_with_cart(variant), email=email))
        payments.pay(session_id, "4242424242424242")
        sessions.append(session_id)
    yield sessions, variants
    StripeEvent.objects.all().delete()
    orders = Order.objects.filter(stripe_session_id__in=sessions)
    Invoice.objects.filter(order__in=orders).delete()
    orders.delete()
    Customer.objects.for_email("twin@example.com").delete()
    country.delete()


def backends_waiting_on_locks(count, timeout=10):
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Statistics views are a snapshot per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
            time.sleep(0.01)
    return False


def test_two_first_orders_of_one_email_fulfilled_at_once_make_one_customer(
    two_first_orders,
):
    # given: both fulfilments held on their wine's stock row, orders locked, so
    # they reach the customer step together when let go
    sessions, variants = two_first_orders
    results, errors = [None, None], []

    def fulfil(index):
        try:
            results[index] = fulfil_checkout(sessions[index], cause=f"thread {index}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fulfil, args=(i,)) for i in range(2)]

    # when
    with transaction.atomic():
        list(
            WineVariant.objects.select_for_update().filter(
                pk__in=[v.pk for v in variants]
            )
        )
        for thread in threads:
            thread.start()
        both_held = backends_waiting_on_locks(2)
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert (both_held, errors) == (True, [])
    customer = Customer.objects.for_email("twin@example.com").get()
    stripe_ids = {stripe_session(order).customer for order in results}
    assert [order.status for order in results] == [OrderStatus.PAID] * 2
    assert [order.customer_id for order in results] == [customer.pk] * 2
    # Each session asked Stripe for a Customer; the first one recorded is kept.
    assert len(stripe_ids) == 2
    assert customer.stripe_customer_id_test in stripe_ids
    assert customer.last_order_at == max(order.paid_at for order in results)
    assert customer.first_order_at == min(order.paid_at for order in results)


def test_test_and_live_mode_ids_are_kept_apart(wines, settings):
    # given: a customer who paid in test mode (the emulator counts as test mode)
    order = check_out_and_pay(shopper_with_cart(wines["red"]), email="kay@example.com")
    test_id = Customer.objects.get().stripe_customer_id_test
    # and a live-mode session for the same shopper, as Stripe would return it
    live_session = stripe.checkout.Session.construct_from(
        {**stripe_session(order).to_dict(), "livemode": True, "customer": "cus_Live1"},
        "sk_test_emulator",
    )

    # when: that live payment is recorded
    with transaction.atomic():
        customer = record_customer(order, live_session.customer, True)
        order.save()

    # then: each mode keeps its own id, and each key mode offers only its own
    assert (customer.stripe_customer_id_test, customer.stripe_customer_id_live) == (
        test_id,
        "cus_Live1",
    )
    assert (
        returning_stripe_customer("KAY@example.com", stripe_api.livemode()) == test_id
    )
    settings.STRIPE_EMULATOR = False
    settings.STRIPE_SECRET_KEY = "sk_live_" + "1" * 9
    assert (
        returning_stripe_customer("KAY@example.com", stripe_api.livemode())
        == "cus_Live1"
    )
    Customer.objects.update(stripe_customer_id_live="")
    assert returning_stripe_customer("kay@example.com", stripe_api.livemode()) == ""


def test_a_stripe_id_held_by_another_customer_is_not_taken(wines):
    # given: a customer and a second shopper's order
    first = check_out_and_pay(shopper_with_cart(wines["red"]), email="one@example.com")
    held = first.customer.stripe_customer_id_test
    second = check_out_and_pay(shopper_with_cart(wines["red"]), email="two@example.com")
    session = stripe.checkout.Session.construct_from(
        {**stripe_session(second).to_dict(), "customer": held}, "sk_test_emulator"
    )
    Customer.objects.for_email("two@example.com").update(stripe_customer_id_test="")

    # when
    with transaction.atomic():
        customer = record_customer(second, session.customer, False)

    # then
    assert customer.email == "two@example.com"
    assert customer.stripe_customer_id_test == ""
    assert Customer.objects.filter(stripe_customer_id_test=held).count() == 1


# Prefill


def test_checkout_is_prefilled_from_the_account_of_a_signed_in_shopper(
    wines, django_user_model
):
    # given: a shopper with an account who paid once, signed in
    user = django_user_model.objects.create_user(
        "lin", email="lin@example.com", password="pw-1234567"
    )
    first_visit = shopper_with_cart(wines["red"])
    first_visit.force_login(user)
    order = check_out_and_pay(
        first_visit,
        email="lin@example.com",
        name="Lin Wu",
        address_line1="8 Vine Street",
        city="Paris",
        postal_code="75001",
        country="FR",
    )

    # when: they come back in a new browser and sign in
    later = Client()
    later.force_login(user)
    shopper_with_cart(wines["white"], later)
    form = later.get("/checkout/").context["form"]
    orders_page = later.get("/orders/")

    # then
    assert form.initial == {
        "email": "lin@example.com",
        "name": "Lin Wu",
        "address_line1": "8 Vine Street",
        "address_line2": "",
        "city": "Paris",
        "postal_code": "75001",
        "state": "",
        "country": "FR",
        "phone": "",
    }
    assert (order.user, order.customer.user) == (user, user)
    assert [o.reference for o in orders_page.context["orders"]] == [order.reference]


def test_a_signed_in_shopper_without_orders_gets_their_name_and_email(
    wines, django_user_model
):
    user = django_user_model.objects.create_user(
        "sam", email="sam@example.com", first_name="Sam", last_name="Lee"
    )
    client = shopper_with_cart(wines["red"])
    client.force_login(user)

    form = client.get("/checkout/").context["form"]

    assert form.initial == {"email": "sam@example.com", "name": "Sam Lee"}


def test_a_returning_session_is_prefilled_and_another_session_is_not(wines):
    # given: a guest who paid
    guest = shopper_with_cart(wines["red"])
    check_out_and_pay(guest, email="guest@example.com", name="Guest Shopper")

    # when: they shop again in the same session, and a stranger shops elsewhere
    shopper_with_cart(wines["white"], guest)
    returning = guest.get("/checkout/").context["form"]
    stranger = shopper_with_cart(wines["white"]).get("/checkout/").context["form"]

    # then
    assert (returning.initial["email"], returning.initial["name"]) == (
        "guest@example.com",
        "Guest Shopper",
    )
    assert returning.initial["country"] == "GB"
    assert stranger.initial == {}


# Merchant admin


@pytest.fixture
def customers(wines):
    """Three customers: Ada (two orders, one partly refunded, 40 days ago first),
    Bob (one order) and Cy (one order); and a pending order that is nobody's."""
    orders = {
        key: check_out_and_pay(shopper_with_cart(wines[wine]), email=email, name=name)
        for key, wine, email, name in (
            ("ada1", "red", "ada@example.com", "Ada Lovelace"),
            ("ada2", "white", "ADA@example.com", "Ada Lovelace"),
            ("bob", "white", "bob@example.com", "Bob Brown"),
            ("cy", "red", "cy@example.com", "Cy Twombly"),
        )
    }
    session_id_of(check_out(shopper_with_cart(wines["red"]), email="dan@example.com"))
    long_ago = timezone.now() - timedelta(days=40)
    Order.objects.filter(pk=orders["ada1"].pk).update(
        paid_at=long_ago, amount_refunded=Decimal("4.00")
    )
    Customer.objects.for_email("ada@example.com").update(first_order_at=long_ago)
    return {c.email.split("@")[0]: c for c in Customer.objects.all()}


def emails(response):
    return [customer.email for customer in response.context["object_list"]]


def test_merchant_lists_customers_with_orders_and_amount_spent(staff_client, customers):
    merchant = staff_client("Merchants")

    response = merchant.get("/admin/customers/", {"ordering": "-amount_spent"})

    assert response.status_code == 200
    rows = [
        (c.email, c.name, c.order_count, c.amount_spent)
        for c in response.context["object_list"]
    ]
    assert rows == [
        ("ada@example.com", "Ada Lovelace", 2, Decimal("31.50")),
        ("bob@example.com", "Bob Brown", 1, Decimal("25.50")),
        ("cy@example.com", "Cy Twombly", 1, Decimal("10.00")),
    ]
    assert "/admin/customers/" in merchant.get("/admin/").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "BOB@exa"}, ["bob@example.com"]),
        ({"q": "twombly"}, ["cy@example.com"]),
        ({"q": "nobody"}, []),
        ({"first_order_at_from": "2000-01-01", "ordering": "email"}, None),
        ({"first_order_at_to": "FIRST_ORDER_DAY"}, ["ada@example.com"]),
        ({"first_order_at_from": "TODAY", "ordering": "email"}, ["bob", "cy"]),
        ({"first_order_at_from": "not a date"}, None),
        ({"ordering": "password"}, None),
    ],
)
def test_search_filter_and_ordering(staff_client, customers, query, expected):
    today = timezone.localdate().isoformat()
    first_day = timezone.localtime(customers["ada"].first_order_at).date()
    query = {
        key: {"TODAY": today, "FIRST_ORDER_DAY": first_day.isoformat()}.get(
            value, value
        )
        for key, value in query.items()
    }
    everyone = ["ada@example.com", "bob@example.com", "cy@example.com"]
    expected = (
        everyone
        if expected is None
        else [e if "@" in e else f"{e}@example.com" for e in expected]
    )

    response = staff_client("Merchants").get("/admin/customers/", query)

    assert response.status_code == 200
    assert sorted(emails(response)) == sorted(expected)


EXPORT_HEADINGS = [
    "Email",
    "Name",
    "Orders",
    "Amount spent",
    "First order at",
    "Last order at",
    "City",
    "Country",
]


def test_csv_export(staff_client, customers):
    response = staff_client("Merchants").get(
        "/admin/customers/", {"ordering": "email", "export": "csv"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    rows = list(reader)
    assert reader.fieldnames == EXPORT_HEADINGS
    assert [(r["Email"], r["Orders"], r["Amount spent"], r["City"]) for r in rows] == [
        ("ada@example.com", "2", "31.50", "London"),
        ("bob@example.com", "1", "25.50", "London"),
        ("cy@example.com", "1", "10.00", "London"),
    ]


def test_xlsx_export(staff_client, customers):
    response = staff_client("Merchants").get(
        "/admin/customers/", {"q": "ada", "export": "xlsx"}
    )

    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    header, *rows = list(workbook.active.values)
    assert list(header) == EXPORT_HEADINGS
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert (row["Email"], row["Orders"]) == ("ada@example.com", 2)
    assert Decimal(str(row["Amount spent"])) == Decimal("31.5")


def test_inspect_shows_the_customers_orders(staff_client, customers):
    ada = customers["ada"]
    orders = list(ada.orders.order_by("created_at"))

    response = staff_client("Merchants").get(f"/admin/customers/inspect/{ada.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert [o.email for o in response.context["orders"]] == [
        "ADA@example.com",
        "ada@example.com",
    ]
    for order in orders:
        assert f'href="/admin/orders/inspect/{order.pk}/">{order.reference}' in html
    assert "<dt>Paid orders</dt><dd>2</dd>" in html
    assert "<dt>Amount spent (less refunds)</dt><dd>31.50</dd>" in html
    assert ada.stripe_customer_id_test in html
    order_page = staff_client("Merchants").get(f"/admin/orders/inspect/{orders[0].pk}/")
    assert (
        f'<a href="/admin/customers/inspect/{ada.pk}/">all their orders</a>'
        in order_page.content.decode()
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/customers/",
        "/admin/customers/?export=csv",
        "/admin/customers/inspect/{pk}/",
    ],
)
def test_editors_see_none_of_it(staff_client, customers, url):
    url = url.format(pk=customers["ada"].pk)
    editor = staff_client("Editors")

    assert editor.get(url).status_code == 302
    assert Client().get(url).status_code == 302
    assert "/admin/customers/" not in editor.get("/admin/").content.decode()


def test_nobody_adds_edits_or_deletes_customers(staff_client, customers):
    merchant = staff_client("Merchants")
    ada = customers["ada"]

    assert merchant.get("/admin/customers/new/").status_code == 302
    assert (
        merchant.post(f"/admin/customers/edit/{ada.pk}/", {"name": "X"}).status_code
        == 302
    )
    assert merchant.post(f"/admin/customers/delete/{ada.pk}/").status_code == 302
    assert Customer.objects.get(pk=ada.pk).name == "Ada Lovelace"
    assert merchant.get("/admin/customers/inspect/not-a-number/").status_code == 404


def make_customers(count, start=0):
    now = timezone.now()
    for number in range(start, start + count):
        customer = Customer.objects.create(
            email=f"many{number}@example.com",
            name=f"Many {number}",
            first_order_at=now,
            last_order_at=now,
        )
        Order.objects.create(
            checkout_key=f"many-{number}",
            status=OrderStatus.PAID,
            customer=customer,
            email=customer.email,
            name=customer.name,
            address_line1="1 Test Street",
            city="Testville",
            postal_code="12345",
            country="US",
            currency="usd",
            subtotal=Decimal("30.00"),
            total=Decimal("30.00"),
            checkout_expires_at=now,
            paid_at=now,
        )


def test_listing_queries_do_not_grow_with_customers(staff_client, db):
    merchant = staff_client("Merchants")
    make_customers(2)
    merchant.get("/admin/customers/")  # warm the per-user caches

    with CaptureQueriesContext(connection) as few:
        merchant.get("/admin/customers/")
    make_customers(20, start=2)
    with CaptureQueriesContext(connection) as many:
        response = merchant.get("/admin/customers/")

    assert response.context["paginator"].count == 22
    assert len(many) == len(few)
    print("queries", len(few), len(many))


def test_the_migration_makes_customers_of_past_buyers(db):
    # given: paid orders from before customers existed, and one never paid
    from importlib import import_module

    from django.apps import apps

    migration = import_module("checkout.migrations.0005_customers_from_paid_orders")
    make_customers(2)
    Order.objects.update(customer=None)
    Customer.objects.all().delete()
    earlier = timezone.now() - timedelta(days=3)
    Order.objects.filter(email="many1@example.com").update(
        email="Many0@Example.com", paid_at=earlier, city="Earlier"
    )
    Order.objects.create(
        **{
            **Order.objects.values(
                "email", "name", "address_line1", "city", "postal_code", "country"
            ).first(),
            "checkout_key": "never-paid",
            "email": "unpaid@example.com",
            "currency": "usd",
            "subtotal": Decimal("1.00"),
            "total": Decimal("1.00"),
            "checkout_expires_at": earlier,
        }
    )

    # when
    migration.create_customers(apps, None)

    # then
    customer = Customer.objects.get()
    assert customer.email == "Many0@Example.com"
    assert (customer.first_order_at, customer.city) == (earlier, "Testville")
    assert customer.last_order_at > earlier
    assert sorted(customer.orders.values_list("email", flat=True)) == [
        "Many0@Example.com",
        "many0@example.com",
    ]
    assert Order.objects.get(email="unpaid@example.com").customer is None
