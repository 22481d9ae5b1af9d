"""Catalogue search: every word of the query must match somewhere in a wine's
title, producer, grapes, region, country, vintage or colour (Wagtail's database
backend: PostgreSQL's full-text search, or SQLite's); failing that, the query with
its misspelt words corrected from the catalogue's own vocabulary (difflib: no
backend here does fuzzy matching); failing that, the wines that match some of
the words; and with nothing at all, the grapes to try."""

import difflib
import re

from django.db.models import Count, Q

import pagecache
from products.models import CountryPage, GrapeVariety, RegionPage, WinePage

WORD = re.compile(r"[\w'-]+")


def find(wines, query, request=None):
    """(results, how, corrected): ``how`` is "all" (every word matched),
    "corrected" (every word of the query as corrected), "some" (some words), or
    "" (none)."""
    # Only words reach the full-text engine (SQLite's reads a stray " as syntax)
    query = " ".join(WORD.findall(query))
    if not query:
        return wines.none(), "", ""
    results = wines.search(query, operator="and", order_by_relevance=True)
    if results.count():
        return results, "all", ""
    corrected = correct(query, request)
    if corrected:
        results = wines.search(corrected, operator="and", order_by_relevance=True)
        if results.count():
            return results, "corrected", corrected
    if len(WORD.findall(query)) > 1:
        results = wines.search(query, operator="or", order_by_relevance=True)
        if results.count():
            return results, "some", ""
    return wines.none(), "", corrected


def correct(query, request=None):
    """The query with each word that the catalogue does not know replaced by the
    closest one it knows (difflib), or "" when nothing is close."""
    known = vocabulary(request)
    words, changed = [], False
    for word in WORD.findall(query.lower()):
        if word in known or word.isdigit():
            words.append(word)
            continue
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
        if close:
            words.append(close[0])
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else ""


def suggestions(request, limit=6):
    """The grapes with the most wines for sale, to try when nothing matched."""

    def find():
        return list(
            GrapeVariety.objects.annotate(
                wine_count=Count("wines", filter=Q(wines__live=True))
            )
            .filter(wine_count__gt=0)
            .order_by("-wine_count", "name")
            .values_list("name", flat=True)[:limit]
        )

    return pagecache.per_version("search_suggestions", request, find)


def vocabulary(request=None):
    """Every word of the catalogue's names (titles, producers, grapes, places),
    lower-case; kept per catalogue version."""

    def find():
        names = []
        for title, producer in WinePage.objects.live().values_list("title", "producer"):
            names += [title, producer]
        names += GrapeVariety.objects.values_list("name", flat=True)
        for place in (CountryPage, RegionPage):
            names += place.objects.live().values_list("title", flat=True)
        return sorted({w for name in names for w in WORD.findall(name.lower())})

    return pagecache.per_version("search_vocabulary", request, find)
