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
