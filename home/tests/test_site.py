import pytest
from django.conf import settings
from django.core.management import call_command
from wagtail.models import Site

from products.models import GrapeVariety, WinePage


@pytest.mark.django_db
def test_home_page_shows_in_stock_wines_and_navigation(client):
    response = client.get("/")

    assert response.status_code == 200
    featured = list(response.context["featured_wines"])
    assert len(featured) == 8
    assert all(wine.in_stock for wine in featured)
    html = response.content.decode()
    for country in ("Australia", "France", "Germany", "Italy", "Portugal", "Spain"):
        assert f">{country}</a>" in html
    assert 'action="/search/"' in html
    assert "data-cart-count" in html


@pytest.mark.django_db
def test_visitors_get_no_session(client):
    client.get("/")
    client.get("/wines/france/")
    assert "sessionid" not in client.cookies


@pytest.mark.django_db
def test_sitemap_lists_live_pages(client):
    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    body = response.content.decode()
    wine = WinePage.objects.live().first()
    assert f"<loc>{settings.SITE_URL}{wine.url}</loc>" in body
    # Every page, and a page per grape and per producer of a live wine
    live = WinePage.objects.live()
    grapes = GrapeVariety.objects.filter(wines__in=live).distinct().count()
    producers = live.values("producer").distinct().count()
    assert body.count("<url>") == live.count() + 25 + grapes + producers
    assert f"<loc>{settings.SITE_URL}/wines/grapes/syrah/</loc>" in body


@pytest.mark.django_db
def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert "Disallow: /admin/" in response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/wines/atlantis/")

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_500_page_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    # Styled by a stylesheet the strict CSP allows, not an inline <style>.
    assert '<link rel="stylesheet" href="/static/css/error.css">' in html
    assert "<style" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "site_url, hostname, port",
    [
        ("http://shop.example:8080", "shop.example", 8080),
        ("https://shop.example", "shop.example", 443),
    ],
)
def test_the_site_follows_site_url_so_absolute_urls_open(
    client, settings, site_url, hostname, port
):
    # Given the shop moved to another address
    settings.SITE_URL = site_url

    # When the demo loader runs again (make run runs it at every start)
    call_command("load_demo_data", wines=0, verbosity=0)

    # Then the sitemap's URLs are on that address, port included
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port) == (hostname, port)
    wine = WinePage.objects.live().first()
    body = client.get("/sitemap.xml").content.decode()
    assert f"<loc>{site_url}{wine.url}</loc>" in body


def test_our_migrations_depend_on_fixed_migrations_only():
    """A dependency on another app's "__latest__" moves with that app's next
    release, and migrate then refuses a database on which ours was applied."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    ours = {"home", "products", "cart", "checkout", "coupons", "stripe_emulator"}
    assert ours <= {config.label for config in apps.get_app_configs()}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    moving = [
        (key, dependency)
        for key, migration in loader.disk_migrations.items()
        if key[0] in ours
        for dependency in migration.dependencies
        if dependency[1] == "__latest__"
    ]
    assert moving == []
