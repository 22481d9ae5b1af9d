"""URLs reversed once per process (core/urls.py) still follow the script prefix
and the URLconf in use."""

from django.urls import clear_script_prefix, include, path, reverse, set_script_prefix

from core.urls import fixed_url


def test_a_fixed_url_follows_the_script_prefix():
    assert fixed_url("cart:detail") == reverse("cart:detail") == "/cart/"
    set_script_prefix("/shop/")
    try:
        assert fixed_url("cart:detail") == "/shop/cart/"
    finally:
        clear_script_prefix()
    assert fixed_url("cart:detail") == "/cart/"


# A URLconf of this test's own, with the cart elsewhere
urlpatterns = [path("basket/", include("cart.urls"))]


def test_a_fixed_url_follows_the_urlconf(settings):
    assert fixed_url("cart:detail") == "/cart/"
    settings.ROOT_URLCONF = __name__

    assert fixed_url("cart:detail") == reverse("cart:detail") == "/basket/"
