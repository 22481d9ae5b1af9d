"""Taking a sale off a wine's stock, and telling the catalogue when anyone sees it.

Pages show a wine's stock only as "In stock" above LOW_STOCK_THRESHOLD, and a cart
compares a quantity with it only up to MAX_LINE_QUANTITY: a sale that leaves at
least STOCK_UNSEEN_FROM changes nothing anyone sees, so the catalogue's caches
stay. One that leaves less moves the catalogue's version on (an UPDATE sends no
signal).
"""

from django.db.models import F

import pagecache

from .models import LOW_STOCK_THRESHOLD, MAX_LINE_QUANTITY, WineVariant

STOCK_UNSEEN_FROM = max(LOW_STOCK_THRESHOLD + 1, MAX_LINE_QUANTITY)


def take(variant_id, quantity):
    """Take ``quantity`` off the variant's stock. Answers None when all of it was
    there, else how many were (the stock is then 0)."""
    variant = WineVariant.objects.filter(pk=variant_id)
    less = F("stock") - quantity
    if variant.filter(stock__gte=quantity + STOCK_UNSEEN_FROM).update(stock=less):
        return None
    pagecache.changed()
    if variant.filter(stock__gte=quantity).update(stock=less):
        return None
    left = max(variant.select_for_update().values_list("stock", flat=True)[0], 0)
    variant.update(stock=0)
    return left
