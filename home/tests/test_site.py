import pytest

from products.models import WinePage


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
    assert f"<loc>http://localhost{wine.url}</loc>" in body
    assert body.count("<url>") == WinePage.objects.live().count() + 25


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
