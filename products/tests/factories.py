"""Builders for catalogue pages, each saved live under the given parent."""

import itertools
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify
from wagtail.search import index

from products.models import (
    Colour,
    CountryPage,
    GrapeVariety,
    RegionPage,
    WinePage,
    WinesIndexPage,
    WineVariant,
)

_skus = itertools.count(1)


def wines_index():
    return WinesIndexPage.objects.get()


def _add(parent, page):
    now = timezone.now()
    page.live = True
    page.first_published_at = page.last_published_at = now
    parent.add_child(instance=page)
    parent.refresh_from_db()
    return page


def country(title, parent=None, **fields):
    return _add(
        parent or wines_index(), CountryPage(title=title, slug=slugify(title), **fields)
    )


def region(title, parent, **fields):
    return _add(parent, RegionPage(title=title, slug=slugify(title), **fields))


def grape(name):
    return GrapeVariety.objects.get_or_create(name=name)[0]


def variant(price, stock=12, active=True, label="75 cl bottle", sku=None):
    return WineVariant(
        label=label,
        sku=sku or f"TEST-{next(_skus):05d}",
        price=Decimal(str(price)),
        stock=stock,
        active=active,
    )


def wine(
    parent,
    title,
    *,
    producer="Test Producer",
    vintage=2020,
    colour=Colour.RED,
    grapes=(),
    variants=None,
    **fields,
):
    page = WinePage(
        title=title,
        slug=slugify(f"{title} {vintage or 'nv'}"),
        producer=producer,
        vintage=vintage,
        colour=colour,
        **fields,
    )
    page.variants = list(variants if variants is not None else [variant("20.00")])
    page.grapes = [grape(name) for name in grapes]
    _add(parent, page)
    index.insert_or_update_object(page)  # again, now that its grapes are saved
    return page
