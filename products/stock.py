"""A wine's stock: holding it for checkouts, selling it, and telling the catalogue
when anyone sees the change.

What a shopper can buy is the stock less what checkouts hold (``StockHold``). A
hold is placed with the variant rows locked, so two checkouts never both hold the
last bottle; paying sells what the checkout held; ending a checkout unpaid releases
it. ``holder`` is the caller's name for the checkout (orders/holds.py).

Pages show what is available only as "In stock" above LOW_STOCK_THRESHOLD, and a
cart compares a quantity with it only up to MAX_LINE_QUANTITY: a change that leaves
at least STOCK_UNSEEN_FROM available, before and after, changes nothing anyone
sees, so the catalogue's caches stay. Any other moves the catalogue's version on
(an UPDATE sends no signal).
"""

from dataclasses import dataclass

from django.db.models import F, Sum

import pagecache

from .models import (
    LOW_STOCK_THRESHOLD,
    MAX_LINE_QUANTITY,
    StockHold,
    WineVariant,
)

STOCK_UNSEEN_FROM = max(LOW_STOCK_THRESHOLD + 1, MAX_LINE_QUANTITY)


@dataclass(frozen=True)
class Shortfall:
    """A hold that could not be placed: ``available`` of ``wanted``."""

    variant: WineVariant
    wanted: int
    available: int


def gone_notice(variant):
    """What a shopper reads when a line leaves their cart: sold, or all of it held
    by other shoppers’ checkouts (the cart and a refused checkout say the same)."""
    name = f"{variant.page.title} ({variant.label})"
    if variant.stock > 0:
        return (
            f"{name} is reserved in other shoppers’ checkouts just now and was "
            "removed from your cart. It may be back if they do not pay."
        )
    return f"{name} sold out and was removed from your cart."


def lowered_notice(variant, available, allowed):
    name = f"{variant.page.title} ({variant.label})"
    return f"Only {available} of {name} left: your cart now holds {allowed}."


def _seen(available):
    if available < STOCK_UNSEEN_FROM:
        pagecache.changed()


def held(variant_ids):
    """``{variant id: bottles held}`` of these variants."""
    return _held_per_variant(StockHold.objects.filter(variant_id__in=list(variant_ids)))


def held_by(holders):
    """``{variant id: bottles held}`` by these holders."""
    return _held_per_variant(StockHold.objects.filter(holder__in=holders))


def _held_per_variant(holds):
    return dict(holds.order_by().values_list("variant_id").annotate(n=Sum("quantity")))


def hold(holder, label, until, wanted, shared_with=()):
    """Hold ``wanted`` (``{variant id: quantity}``) for ``holder`` until ``until``,
    all or nothing; run it in the transaction that makes the checkout.

    The variants are locked in id order (so two checkouts never wait on each other)
    before what is held is summed, so each checkout sees the ones before it. What
    ``shared_with`` holds (the same cart's earlier checkouts, which this one
    replaces) counts as available. Answers the shortfalls; holds only if none.
    """
    ids = sorted(wanted)
    variants = {
        variant.pk: variant
        for variant in WineVariant.objects.select_for_update(of=("self",))
        .select_related("page")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    others = held(ids)
    own = held_by(shared_with) if shared_with else {}
    short, left = [], {}
    for pk in ids:
        variant = variants.get(pk)
        if variant is None:
            continue  # deleted since the cart was read: the order line says so
        available = max(variant.stock - others.get(pk, 0) + own.get(pk, 0), 0)
        if available < wanted[pk]:
            short.append(Shortfall(variant, wanted[pk], available))
        left[pk] = max(variant.stock - others.get(pk, 0) - wanted[pk], 0)
    if short:
        return short
    StockHold.objects.bulk_create(
        StockHold(
            variant_id=pk, holder=holder, label=label, quantity=wanted[pk], until=until
        )
        for pk in ids
        if pk in variants
    )
    if left:
        _seen(min(left.values()))
    return []


def release(holder):
    """End ``holder``'s holds unsold (the checkout expired, failed or was
    cancelled); answers whether there were any."""
    holds = list(StockHold.objects.filter(holder=holder).values_list("variant_id"))
    if not holds:
        return False
    ids = [pk for (pk,) in holds]
    before = _available(ids)
    StockHold.objects.filter(holder=holder).delete()
    if before:
        _seen(min(before.values()))
    return True


def sell(holder, wanted):
    """Take ``wanted`` (``{variant id: quantity}``) off stock for a paid checkout;
    answers ``{variant id: bottles it could have}`` for what was short.

    What ``holder`` held is sold: the stock and the hold go down together, so what
    others can buy does not change. A quantity it did not hold (its hold ended
    before the payment landed) is taken from what nobody holds, as far as it goes.
    """
    holds = StockHold.objects.filter(holder=holder)
    mine = dict(holds.values_list("variant_id", "quantity"))
    if mine:
        holds.delete()  # what is held from here on is others'
    short = {}
    for pk in sorted(wanted):
        quantity = wanted[pk]
        variant = WineVariant.objects.filter(pk=pk)
        held_here = mine.get(pk, 0) >= quantity
        if held_here and variant.filter(stock__gte=quantity).update(
            stock=F("stock") - quantity
        ):
            continue
        locked = variant.select_for_update().first()
        if locked is None:
            continue
        others = held([pk]).get(pk, 0)
        # Held bottles come first (only a merchant's edit leaves fewer); else what
        # nobody holds.
        there = locked.stock if held_here else max(locked.stock - others, 0)
        taken = min(there, quantity)
        variant.update(stock=F("stock") - taken)
        _seen(locked.stock - taken - others)
        if taken < quantity:
            short[pk] = there
    return short


def _available(ids):
    stock = dict(WineVariant.objects.filter(pk__in=ids).values_list("pk", "stock"))
    taken = held(ids)
    return {pk: stock[pk] - taken.get(pk, 0) for pk in stock}
