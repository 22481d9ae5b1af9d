"""Wine cards (``includes/wine_card.html``): the same HTML wherever a wine is
listed, so each process makes a wine's card once per catalogue version (and per
site) and every page that shows it (a wine page's "you may also like") reuses it.
A card shows only what moves the version on: the page, its variants' prices and
stock, its image."""

from django.template.loader import render_to_string

from pagecache import stencils


def wine_cards(request, pks, listing):
    """The cards of the live wines ``pks``, in that order; a wine no longer live is
    left out. ``listing(pks)`` reads the wines of the cards not yet made (with
    what a card shows: ``WinePage.objects.for_listing()``)."""

    def render(missing):
        wines = listing(missing)
        return {
            wine.pk: render_to_string(
                "includes/wine_card.html", {"wine": wine, "request": request}
            )
            for wine in wines
        }

    cards = stencils.kept_many(request, "wine-card", pks, render)
    return [cards[pk] for pk in pks if cards[pk] is not None]
