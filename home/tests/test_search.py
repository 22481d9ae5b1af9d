"""Search that finds: every word across title, producer, grape, region, country,
vintage and colour; typos corrected from the catalogue's own words; suggestions
when nothing matches. Against the demo catalogue (the embedded SQLite shop runs
the same queries: proof/tests/test_embedded.py)."""

import re

import pytest
from django.test import Client

from products.models import WinePage

pytestmark = pytest.mark.django_db


def found(query):
    page = Client().get("/search/", {"q": query})
    assert page.status_code == 200
    html = page.content.decode()
    matched = re.search(r'data-search-matched="(\w*)"', html)[1]
    urls = re.findall(r'<a class="wine-card__link" href="([^"]+)"', html)
    return matched, urls, html


def live(**filters):
    return WinePage.objects.live().filter(**filters)


def test_a_grape_and_a_vintage_find_that_wine():
    shiraz = live(title__contains="Shiraz", vintage__isnull=False).first()

    matched, titles, _ = found(f"shiraz {shiraz.vintage}")

    assert matched == "all"
    assert titles == [shiraz.url]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("barolo", {"title__contains": "Barolo"}),
        # Burgundy's Pinot Noirs: the grape's two words and the region
        (
            "pinot noir burgundy",
            {"grapes__name": "Pinot Noir", "url_path__contains": "/burgundy/"},
        ),
        (
            "rioja tempranillo",
            {"grapes__name": "Tempranillo", "url_path__contains": "/rioja/"},
        ),
        ("Château Lafleur-Marsan", {"producer": "Château Lafleur-Marsan"}),
        ("riesling germany", {"grapes__name": "Riesling"}),
        ("sparkling france", {"colour": "sparkling"}),
    ],
)
def test_every_word_counts_across_the_wines_facts(query, expected):
    wanted = sorted(wine.url for wine in live(**expected).distinct())

    matched, titles, _ = found(query)

    assert matched == "all"
    assert len(wanted) > 0
    assert sorted(titles) == wanted[:12]


def test_a_misspelt_word_is_corrected_from_the_catalogues_own_words():
    wanted = sorted(w.url for w in live(title__contains="Shiraz"))

    matched, titles, html = found("shiraaz")

    assert matched == "corrected"
    assert "Showing" in html and "<strong>shiraz</strong>" in html
    assert sorted(titles) == wanted


def test_nothing_found_suggests_grapes_to_try():
    matched, titles, html = found("zzzqqq")

    assert (matched, titles) == ("", [])
    chips = re.findall(r'<a class="chip" href="/search/\?q=([^"]+)">', html)
    assert len(chips) == 6
    assert "Syrah" in chips


def test_hostile_queries_are_answered():
    for query in ['"', 'a"b', 'shiraz "', "%", "'; drop", "a" * 500, "\u202e", "& | !"]:
        assert Client().get("/search/", {"q": query}).status_code == 200
