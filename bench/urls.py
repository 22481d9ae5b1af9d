"""The shop's URLs plus the floor: the cheapest view behind the full middleware."""

from django.http import HttpResponse
from django.urls import path

from cellar.urls import urlpatterns as shop_urlpatterns


def floor(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("_bench/floor/", floor), *shop_urlpatterns]
