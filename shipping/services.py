"""Finding the shipping methods and the tax rate for a delivery address, and the
quote for a basket sent there (shipping/totals.py computes it).

Zones, methods and rates are read once per catalogue version (saving any of them
moves it: shipping/apps.py), so a cart's estimate costs no query once warm.
"""

from dataclasses import dataclass

from django.db.models import Prefetch
from django_countries import countries

import pagecache

from .models import ShippingMethod, ShippingZone, TaxRate
from .totals import Rate, compute, shipping_cost


class NoDelivery(Exception):
    """The shop does not deliver there; ``reason`` says so in the shopper's words."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rules:
    zones: tuple  # each with its active methods prefetched as ``active_methods``
    rates: dict  # (country, state) -> Rate


def _load():
    zones = tuple(
        ShippingZone.objects.prefetch_related(
            Prefetch(
                "methods",
                queryset=ShippingMethod.objects.filter(active=True).order_by(
                    "sort_order", "price", "pk"
                ),
                to_attr="active_methods",
            )
        )
    )
    rates = {
        (rate.country.code, rate.state): Rate(
            name=rate.name,
            percent=rate.rate,
            country=rate.country.code,
            state=rate.state,
            applies_to_shipping=rate.applies_to_shipping,
        )
        for rate in TaxRate.objects.all()
    }
    return Rules(zones=zones, rates=rates)


def rules(request=None):
    """The zones and rates, once per catalogue version (and once per request
    when the catalogue cache is off)."""
    held = getattr(request, "_shipping_rules", None)
    if held is None:
        held = pagecache.per_version("shipping_rules", request, _load)
        if request is not None:
            request._shipping_rules = held
    return held


def charges_shipping(request=None):
    """Whether the merchant has set up shipping: until the first zone, the shop
    delivers to its delivery countries (Shop settings) and charges nothing for
    it, as before shipping rates existed."""
    return bool(rules(request).zones)


def charges_tax(request=None):
    return bool(rules(request).rates)


def zone_for(country, state="", request=None):
    """The zone delivering to the address: one naming its state before one
    covering the whole country."""
    zones = [
        zone
        for zone in rules(request).zones
        if zone.active_methods and zone.covers(country, state)
    ]
    # Zones do not overlap (ShippingZone.clean); should two still, the oldest.
    zones.sort(key=lambda zone: (not zone.state_codes, zone.pk))
    return zones[0] if zones else None


def methods_for(country, state="", request=None):
    """The active methods delivering to the address, in the merchant's order."""
    zone = zone_for(country, state, request)
    return list(zone.active_methods) if zone else []


def method_for(method_id, country, state="", request=None):
    """The chosen method if it delivers to the address, else None."""
    return next(
        (
            m
            for m in methods_for(country, state, request)
            if str(m.pk) == str(method_id)
        ),
        None,
    )


def rate_for(country, state="", request=None):
    """The tax rate for the address: its state's own, else its country's; None
    where the shop charges none."""
    rates = rules(request).rates
    return rates.get((country, (state or "").upper())) or rates.get((country, ""))


def quote(
    line_amounts,
    bottles,
    discount,
    *,
    currency,
    country,
    state="",
    method=None,
    prices_include_tax=False,
    tax_at_payment=False,
    request=None,
):
    """The totals for goods sent to the address by ``method`` (a ShippingMethod
    delivering there; None: the cheapest). Raises NoDelivery when none does;
    without any zone set up, shipping is not charged (``method`` None). With
    ``tax_at_payment`` (Stripe Tax) the shop's rates are not applied."""
    rate = None if tax_at_payment else rate_for(country, state, request)
    if method is None and not charges_shipping(request):
        totals = compute(
            line_amounts,
            discount,
            currency=currency,
            rate=rate,
            prices_include_tax=prices_include_tax,
            tax_at_payment=tax_at_payment,
        )
        return totals, None
    goods = sum(line_amounts) - min(discount, sum(line_amounts))
    if method is None:
        options = methods_for(country, state, request)
        if not options:
            raise NoDelivery(no_delivery_reason(country, state))
        method = min(
            options, key=lambda m: (shipping_cost(m, bottles, goods, currency), m.pk)
        )
    totals = compute(
        line_amounts,
        discount,
        currency=currency,
        shipping=shipping_cost(method, bottles, goods, currency),
        rate=rate,
        prices_include_tax=prices_include_tax,
        tax_at_payment=tax_at_payment,
    )
    return totals, method


def no_delivery_reason(country, state):
    name = dict(countries).get(country, country)
    if state:
        return f"We do not deliver to {state}, {name} yet."
    return f"We do not deliver to {name} yet."
