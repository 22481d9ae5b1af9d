"""The home page routes a URL in two queries, to the same page as Wagtail's walk."""

import pytest
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page

from home.models import HomePage
from products.models import GrapeVariety, RegionPage, WinePage


def both_routes(path):
    """What the shop's routing and Wagtail's own walk answer for ``path``."""
    request = RequestFactory().get(path)
    home = HomePage.objects.get()
    components = [part for part in path.split("/") if part]
    answers = []
    for route in (home.route, lambda *a: Page.route(home, *a)):
        try:
            page, args, kwargs = route(request, components)
        except Http404:
            answers.append("404")
        else:
            view_args = [arg for arg in args if not callable(arg)]
            answers.append((type(page), page.pk, repr(view_args), kwargs))
    return answers


@pytest.mark.django_db
def test_every_kind_of_url_routes_as_wagtails_walk_does():
    wine = WinePage.objects.live().order_by("path").first()
    region = wine.get_parent()
    grape = GrapeVariety.objects.order_by("pk").first()
    paths = [
        "/",
        "/wines/",
        region.get_parent().url,
        region.url,
        wine.url,
        f"/wines/grapes/{grape.slug}/",
        f"/wines/producers/{wine.specific.producer.lower().replace(' ', '-')}/",
        "/about/",
        "/no-such-page/",
        f"{region.url}no-such-wine/",
        f"{wine.url}extra/",
        "/wines/grapes/",
    ]
    for path in paths:
        ours, wagtails = both_routes(path)
        assert ours == wagtails, path
    assert both_routes(wine.url)[0][:2] == (WinePage, wine.pk)
    assert both_routes("/no-such-page/")[0] == "404"


@pytest.mark.django_db
def test_drafts_route_as_wagtails_walk_does():
    wine = WinePage.objects.live().order_by("path").first()
    region = RegionPage.objects.get(pk=wine.get_parent().pk)
    url = wine.url
    wine.unpublish()
    assert both_routes(url) == ["404", "404"]
    wine.save_revision().publish()
    region.unpublish()  # a live wine under a draft region is still served
    ours, wagtails = both_routes(url)
    assert ours == wagtails and ours[:2] == (WinePage, wine.pk)


@pytest.mark.django_db
def test_a_wine_page_is_routed_in_two_queries():
    wine = WinePage.objects.live().order_by("path").first()
    home = HomePage.objects.get()
    components = [part for part in wine.url.split("/") if part]
    assert len(components) == 4
    request = RequestFactory().get(wine.url)
    with CaptureQueriesContext(connection) as queries:
        page, _, _ = home.route(request, components)
    # the pages along the path, then the wine's own row (Wagtail's walk: eight)
    assert len(queries) == 2
    assert page.pk == wine.pk
    with CaptureQueriesContext(connection) as queries:
        assert page.get_parent().get_parent().slug == components[1]
    assert len(queries) == 0  # its ancestors came with it
