"""The benchmark's database-side steps, run by bench/run.py in a subprocess with
the phase's settings: ``python -m bench.tasks <step>`` reads JSON on stdin and
prints JSON on stdout."""

import io
import json
import sys

import django

BENCH_STOCK = 1_000_000


def build(argument):
    """Migrate, load the demo catalogue (both idempotent), collect static files,
    and prepare: one process instead of four."""
    from django.core.management import call_command

    quiet = {"verbosity": 0, "stdout": io.StringIO()}  # stdout carries the JSON
    call_command("migrate", interactive=False, **quiet)
    call_command("load_demo_data", wines=argument["wines"], **quiet)
    if argument["collectstatic"]:
        call_command("collectstatic", interactive=False, **quiet)
    return prepare(None)


def prepare(_):
    """Stock for a long run, an empty cache, and the pages the scenarios visit."""
    import redis
    from django.conf import settings

    from cart.services import MAX_LINE_QUANTITY
    from products.models import (
        CountryPage,
        RegionPage,
        StockHold,
        WinePage,
        WineVariant,
    )

    # Only what was in stock is topped up: sold-out wines stay sold out. What an
    # earlier run's checkouts hold goes: each run starts with nothing held.
    WineVariant.objects.filter(active=True, stock__gt=0).update(stock=BENCH_STOCK)
    StockHold.objects.all().delete()
    if settings.REDIS_URL:
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
    else:
        from django.core.cache import cache

        cache.clear()
    buyable = WineVariant.objects.filter(
        active=True, stock=BENCH_STOCK, page__live=True
    ).order_by("pk")
    country = CountryPage.objects.live().order_by("path").first()
    region = RegionPage.objects.live().child_of(country).order_by("path").first()
    wine = (
        WinePage.objects.live()
        .child_of(region)
        .filter(image__isnull=False, pk__in=buyable.values("page"))
        .order_by("path")
        .first()
    )
    wines = (
        WinePage.objects.live()
        .filter(pk__in=buyable.values("page"))
        .order_by("path")
        .specific()[:20]
    )
    return {
        "variants": list(buyable.values_list("pk", flat=True)[:30]),
        # what a sale day's shoppers browse, besides the scenarios' pages
        "wine_urls": [page.url for page in wines],
        "shopper": shopper_account(),
        "line_cap": MAX_LINE_QUANTITY,
        "burst_variant": buyable.last().pk,
        "wines": WinePage.objects.live().count(),
        "urls": {
            "country": country.url,
            "region": region.url,
            "wine": wine.url,
        },
    }


def pay(payments):
    """Pay each [Checkout Session id, email] with the test card; the completed
    event of each."""
    from stripe_emulator import payments as emulator
    from stripe_emulator.models import EmulatedEvent
    from stripe_emulator.webhooks import payload

    events = []
    for session_id, email in payments:
        emulator.pay(session_id, "4242424242424242", email=email)
        event = EmulatedEvent.objects.filter(
            type="checkout.session.completed", data__data__object__id=session_id
        ).get()
        events.append(json.loads(payload(event)))
    return events


def fulfilments(argument):
    """How many times each order became paid, the events the ledger holds, and the
    stock left of the variant they bought."""
    from checkout.models import StripeEvent
    from orders.models import Order, OrderStatusChange
    from orders.status import OrderStatus
    from products.models import WineVariant

    session_ids = argument["sessions"]
    orders = Order.objects.filter(stripe_session_id__in=session_ids)
    paid = OrderStatusChange.objects.filter(
        order__in=orders, to_status=OrderStatus.PAID
    )
    per_order = {order.pk: 0 for order in orders}
    for change in paid:
        per_order[change.order_id] += 1
    return {
        "orders": len(per_order),
        "paid": orders.filter(status=OrderStatus.PAID).count(),
        "paid_transitions": sorted(set(per_order.values())),
        "ledger": StripeEvent.objects.filter(
            payload__data__object__id__in=session_ids
        ).count(),
        "stock": WineVariant.objects.get(pk=argument["variant"]).stock,
    }


def invoices(session_ids):
    from orders.models import Invoice

    rows = Invoice.objects.filter(order__stripe_session_id__in=session_ids)
    return {
        "invoices": rows.count(),
        "orders": rows.values("order").distinct().count(),
        "ready": rows.filter(status=Invoice.Status.READY).count(),
        "emailed": rows.filter(emailed_at__isnull=False).count(),
        "attempts": sorted(set(rows.values_list("attempts", flat=True))),
    }


BENCH_SHOPPER = {
    "email": "bench-shopper@cellar.test",
    "password": "bench shopper pw 42",
}


def shopper_account():
    """A shopper's account with a verified email, for the signed-in scenarios."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    email = BENCH_SHOPPER["email"]
    user, made = get_user_model().objects.get_or_create(
        username="bench-shopper", defaults={"email": email}
    )
    if made:
        user.set_password(BENCH_SHOPPER["password"])
        user.save()
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return BENCH_SHOPPER


def purge_queue(_):
    """Drop queued tasks from the bench's own queue (never the shop's)."""
    from cellar.celery import app

    return app.control.purge()


STEPS = {
    "build": build,
    "prepare": prepare,
    "pay": pay,
    "fulfilments": fulfilments,
    "invoices": invoices,
    "purge_queue": purge_queue,
}

if __name__ == "__main__":
    django.setup()
    argument = json.load(sys.stdin)
    json.dump(STEPS[sys.argv[1]](argument), sys.stdout)
