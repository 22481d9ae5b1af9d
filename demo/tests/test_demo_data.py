import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from wagtail.images import get_image_model

from home.models import ShopSettings
from products.models import CountryPage, RegionPage, WinePage, WineVariant


def catalogue_snapshot():
    return {
        "countries": sorted(CountryPage.objects.values_list("slug", flat=True)),
        "regions": sorted(RegionPage.objects.values_list("url_path", flat=True)),
        "wines": sorted(
            WinePage.objects.values_list("url_path", "producer", "vintage", "colour")
        ),
        "variants": sorted(
            WineVariant.objects.values_list("sku", "label", "price", "stock", "active")
        ),
        "images": get_image_model().objects.count(),
    }


@pytest.mark.django_db
def test_demo_catalogue_looks_like_a_real_shop():
    wines = WinePage.objects.live()
    assert CountryPage.objects.live().count() == 7
    assert RegionPage.objects.live().count() == 13
    assert wines.count() == 60
    variant_counts = {wine.variants.count() for wine in wines}
    assert variant_counts == {1, 2, 3}
    sold_out = [wine for wine in wines if not any(v.stock for v in wine.variants.all())]
    assert len(sold_out) == 7
    assert wines.filter(vintage__isnull=True).count() > 0
    assert wines.filter(image__isnull=True).count() == 0
    assert set(Group.objects.values_list("name", flat=True)) >= {"Editors", "Merchants"}
    assert sorted(
        Group.objects.filter(user__username__in=["editor", "merchant"]).values_list(
            "user__username", "name"
        )
    ) == [("editor", "Editors"), ("merchant", "Merchants")]
    shop = ShopSettings.load()
    assert shop.legal_name == "Cellar Wine Merchants Ltd"
    assert sorted(country.code for country in shop.delivery_countries) == [
        "CA",
        "DE",
        "ES",
        "FR",
        "GB",
        "IT",
        "US",
    ]
    # Every delivery country has a way to get there, and a price for it
    from shipping import services as shipping

    for country in shop.delivery_countries:
        state = {"US": "NY", "CA": "ON", "IT": "MI", "ES": "M"}.get(country.code, "")
        assert shipping.methods_for(country.code, state), country
    assert [m.name for m in shipping.methods_for("US", "HI")] == ["Air"]
    assert shipping.rate_for("US", "OR") is None  # Oregon has no sales tax
    assert shipping.rate_for("GB").percent == 20


@pytest.mark.django_db
def test_loading_twice_gives_the_same_catalogue(capsys):
    before = catalogue_snapshot()

    call_command("load_demo_data")

    assert catalogue_snapshot() == before
    out = capsys.readouterr().out
    assert "Demo catalogue ready: 0 pages, 0 variants and 0 images created." in out
    for username in ("admin", "editor", "merchant"):
        assert f"user: {username}  (password unchanged" in out


@pytest.mark.django_db
def test_the_demo_wines_facts_agree():
    """What a wine lover would check: names, vintages, colours, grapes, alcohol,
    prices and food, each against the others."""
    import collections
    from decimal import Decimal

    from demo.catalogue import COUNTRIES, GRAPES, STYLES

    cuvees = {
        (region.name, cuvee.name): cuvee
        for _, regions in COUNTRIES.values()
        for region in regions
        for cuvee in region.cuvees
    }
    wines = list(WinePage.objects.live().prefetch_related("grapes", "variants"))
    assert len(wines) == 60

    # No two wines share a name and a vintage, nor a slug
    names = collections.Counter((wine.title, wine.vintage) for wine in wines)
    assert [name for name, count in names.items() if count > 1] == []
    assert len({wine.slug for wine in wines}) == len(wines)

    for wine in wines:
        region = wine.get_parent().title
        # The longest cuvée name the title ends with ("Gran Reserva", not "Reserva")
        cuvee = max(
            (
                c
                for (r, name), c in cuvees.items()
                if r == region and wine.title.endswith(f" {name}")
            ),
            key=lambda c: len(c.name),
        )
        grapes = {grape.name for grape in wine.grapes.all()}
        skins = {GRAPES[name][0] for name in grapes}
        single = next(v for v in wine.variants.all() if v.bottles == 1)
        said = f"{wine.title} {wine.vintage}"
        assert wine.colour == cuvee.colour, said
        assert grapes == set(cuvee.grapes), said
        # White and sweet wines of white grapes; reds, rosés, ports of red ones
        if wine.colour in ("white", "sweet"):
            assert skins == {"white"}, said
        if wine.colour in ("red", "rose", "fortified"):
            assert skins == {"red"}, said
        # Non-vintage only where the cuvée is (Champagne's Brut, tawny ports)
        assert (wine.vintage is None) == (not cuvee.vintage), said
        # Alcohol as the style has it: a port near 20%, a Kabinett under 10%
        assert Decimal(str(cuvee.abv[0])) <= wine.abv <= Decimal(str(cuvee.abv[1]))
        assert wine.abv <= 15 or wine.colour == "fortified", said
        # Priced for its region and size; a case cheaper a bottle, a magnum dearer
        low, high = cuvee.price
        assert low - 1 <= single.price <= high, said
        for variant in wine.variants.all():
            each = variant.price / variant.bottles
            if variant.label.startswith("Case"):
                assert each < single.price, said
            if variant.label.startswith("Magnum"):
                assert variant.price > 2 * single.price, said
        # Food for the style: no fried chicken with a Priorat
        assert wine.food_pairing == STYLES[cuvee.style][1], said

    # The names the old demo got wrong
    by_title = {wine.title: wine for wine in wines}
    assert all(w.colour == "white" for t, w in by_title.items() if "Trocken" in t)
    assert all(
        w.vintage is None and w.variants.get(bottles=1).price >= 38
        for t, w in by_title.items()
        if "Brut Réserve" in t
    )


@pytest.mark.django_db
def test_loading_over_an_older_demo_keeps_its_wines_and_adds_none_twice():
    """A database loaded by an earlier demo (other names, the same SKUs) loads
    again without a clash: its wines stay, none is made twice."""
    wine = WinePage.objects.live().order_by("path").first()
    wine.title, wine.slug = "An Older Demo Wine", "an-older-demo-wine"
    wine.save_revision().publish()
    before = catalogue_snapshot()

    call_command("load_demo_data")

    assert catalogue_snapshot() == before
