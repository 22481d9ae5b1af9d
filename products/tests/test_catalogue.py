"""Filters, sorting, pagination and search return exactly the expected wines."""

from decimal import Decimal

import pytest

from products.models import Colour, WinePage

from . import factories


@pytest.fixture
def testland(db):
    """A country of our own, so every expectation below is exact."""
    country = factories.country("Testland")
    north = factories.region("Northvale", country)
    south = factories.region("Southmoor", country)
    v = factories.variant
    wines = {
        "alpha": factories.wine(
            north,
            "Alpha Rouge",
            vintage=2015,
            colour=Colour.RED,
            grapes=["Syrah"],
            variants=[v("15.00"), v("80.00", label="Magnum")],
        ),
        "bravo": factories.wine(
            north,
            "Bravo Blanc",
            vintage=2021,
            colour=Colour.WHITE,
            grapes=["Riesling"],
            variants=[v("22.50")],
        ),
        "charlie": factories.wine(
            south,
            "Charlie Rouge",
            vintage=None,
            colour=Colour.RED,
            grapes=["Syrah", "Grenache"],
            variants=[v("9.99", stock=0)],
        ),
        "delta": factories.wine(
            south,
            "Delta Bulles",
            vintage=2018,
            colour=Colour.SPARKLING,
            grapes=["Chardonnay"],
            variants=[v("5.00", active=False), v("35.00")],
        ),
    }
    unpublished = factories.wine(south, "Echo Hidden", variants=[v("12.00")])
    unpublished.unpublish()
    return {"country": country, "north": north, "south": south, **wines}


def titles(response):
    return [wine.title for wine in response.context["wines"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["Alpha Rouge", "Bravo Blanc", "Charlie Rouge", "Delta Bulles"]),
        ("colour=red", ["Alpha Rouge", "Charlie Rouge"]),
        ("grape=syrah", ["Alpha Rouge", "Charlie Rouge"]),
        ("grape=grenache", ["Charlie Rouge"]),
        ("min_price=10&max_price=30", ["Alpha Rouge", "Bravo Blanc"]),
        ("max_price=9.99", ["Charlie Rouge"]),
        # The inactive 5.00 variant is not a price anyone can pay.
        ("max_price=6", []),
        ("colour=red&max_price=12", ["Charlie Rouge"]),
        ("sort=price", ["Charlie Rouge", "Alpha Rouge", "Bravo Blanc", "Delta Bulles"]),
        (
            "sort=-price",
            ["Delta Bulles", "Bravo Blanc", "Alpha Rouge", "Charlie Rouge"],
        ),
        (
            "sort=-vintage",
            ["Bravo Blanc", "Delta Bulles", "Alpha Rouge", "Charlie Rouge"],
        ),
    ],
)
def test_country_page_filters_and_sorts(client, testland, query, expected):
    response = client.get(f"/wines/testland/?{query}")

    assert response.status_code == 200
    assert titles(response) == expected


def test_region_filter_on_country_page(client, testland):
    response = client.get(f"/wines/testland/?region={testland['south'].pk}")

    assert titles(response) == ["Charlie Rouge", "Delta Bulles"]


def test_region_page_lists_only_its_wines(client, testland):
    response = client.get("/wines/testland/southmoor/?sort=name")

    assert titles(response) == ["Charlie Rouge", "Delta Bulles"]
    cards = {wine.title: wine for wine in response.context["wines"]}
    assert cards["Charlie Rouge"].in_stock is False
    assert cards["Delta Bulles"].from_price == Decimal("35.00")
    assert cards["Delta Bulles"].region_title == "Southmoor"
    assert cards["Delta Bulles"].country_title == "Testland"


def test_wines_index_filters_by_country(client, testland):
    response = client.get("/wines/?country=testland&sort=-price")

    assert titles(response) == [
        "Delta Bulles",
        "Bravo Blanc",
        "Alpha Rouge",
        "Charlie Rouge",
    ]


def test_wines_index_lists_every_live_wine(client, testland):
    response = client.get("/wines/")

    assert response.context["paginator"].count == WinePage.objects.live().count()
    assert response.context["paginator"].count == 60 + 4


def test_bad_filter_values_answer_400_with_the_reason(client, testland):
    response = client.get("/wines/testland/?min_price=abc&colour=blue&sort=colour")

    assert response.status_code == 400
    errors = response.context["filter_form"].errors
    assert errors["min_price"] == ["Enter a number."]
    assert errors["colour"] == [
        "Select a valid choice. blue is not one of the available choices."
    ]
    assert errors["sort"] == [
        "Select a valid choice. colour is not one of the available choices."
    ]
    # The listing still shows, unfiltered, so the shopper can fix the form.
    assert len(titles(response)) == 4
    assert "Enter a number." in response.content.decode()


def test_inverted_price_range_is_explained(client, testland):
    response = client.get("/wines/testland/?min_price=30&max_price=10")

    assert response.status_code == 400
    assert response.context["filter_form"].errors["max_price"] == [
        "The upper price must not be below the lower."
    ]


def test_pagination_keeps_the_filters(client, testland):
    region = factories.region("Bigvalley", testland["country"])
    for number in range(14):
        factories.wine(region, f"Wine {number:02d}", colour=Colour.WHITE)

    first = client.get("/wines/testland/bigvalley/?colour=white")
    second = client.get("/wines/testland/bigvalley/?colour=white&page=2")
    beyond = client.get("/wines/testland/bigvalley/?colour=white&page=99")

    assert titles(first) == [f"Wine {n:02d}" for n in range(12)]
    assert titles(second) == ["Wine 12", "Wine 13"]
    assert titles(beyond) == ["Wine 12", "Wine 13"]
    assert 'href="?colour=white&amp;page=2"' in first.content.decode()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Zyxwine", ["Zyxwine Quillon"]),  # producer
        ("Quernhollow", ["Plain Red", "Zyxwine Quillon"]),  # region
        ("Xinomavro", ["Plain Red"]),  # grape
        ("Freedonia", ["Plain Red", "Zyxwine Quillon"]),  # country
        ("Quillon", ["Zyxwine Quillon"]),  # title
    ],
)
def test_search_finds_wines_by_title_producer_grape_region_and_country(
    client, db, query, expected
):
    country = factories.country("Freedonia")
    region = factories.region("Quernhollow", country)
    factories.wine(region, "Zyxwine Quillon", producer="Zyxwine Estate")
    factories.wine(region, "Plain Red", producer="Someone", grapes=["Xinomavro"])
    hidden = factories.wine(region, "Hidden Zyxwine", producer="Zyxwine Estate")
    hidden.unpublish()

    response = client.get("/search/", {"q": query})

    assert response.status_code == 200
    assert sorted(wine.title for wine in response.context["results"]) == expected


def test_search_without_query_shows_the_form(client, db):
    response = client.get("/search/")

    assert response.status_code == 200
    assert response.context["results"] is None


def test_search_query_is_bounded(client, db):
    response = client.get("/search/", {"q": "x" * 5000})

    assert response.status_code == 200
    assert response.context["search_query"] == "x" * 200
