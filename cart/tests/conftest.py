import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory


@pytest.fixture
def cart_request(db):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request
