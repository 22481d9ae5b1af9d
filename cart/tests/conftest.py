import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from conftest import shop_without_shipping


@pytest.fixture
def cart_request(db):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request


@pytest.fixture(autouse=True)
def _no_shipping_unless_set(request):
    shop_without_shipping(request)
