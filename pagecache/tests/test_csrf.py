"""The CSRF token the shop's forms and cached pages carry (pagecache/csrf.py) is
the one Django would make, and Django's middleware accepts it."""

import pytest
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CsrfViewMiddleware,
    _unmask_cipher_token,
)
from django.test import Client, RequestFactory

from pagecache import csrf


def with_cookie(secret):
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = secret
    return request


def test_a_token_is_the_cookies_secret_freshly_masked():
    secret = csrf.random_string(32)
    request = with_cookie(secret)

    tokens = {csrf.get_token(request) for _ in range(50)}

    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 64
        assert set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
    assert request.META["CSRF_COOKIE"] == secret
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_a_new_visitor_gets_a_secret_and_its_cookie():
    request = RequestFactory().get("/")

    token = csrf.get_token(request)

    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token) == secret
    assert csrf.get_token(request) != token


def test_djangos_middleware_accepts_the_token_and_refuses_a_tampered_one():
    secret = csrf.random_string(32)
    token = csrf.get_token(with_cookie(secret))
    middleware = CsrfViewMiddleware(lambda request: None)

    def post(value):
        request = RequestFactory().post(
            "/", {"csrfmiddlewaretoken": value}, HTTP_COOKIE=f"csrftoken={secret}"
        )
        request._dont_enforce_csrf_checks = False
        middleware.process_request(request)
        return middleware.process_view(request, lambda r: None, (), {})

    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert post(token) is None  # accepted
    assert post(tampered).status_code == 403


def test_random_strings_drop_the_bytes_that_would_bias_them(monkeypatch):
    # 248 to 255 would make the first eight characters likelier: they are skipped
    draws = iter([bytes([248, 255, 0, 61, 62, 247]), bytes(range(40))])
    monkeypatch.setattr(csrf.os, "urandom", lambda size: next(draws))

    drawn = csrf.random_string(4)

    chars = CSRF_ALLOWED_CHARS
    assert drawn == chars[0] + chars[61] + chars[0] + chars[247 % 62]


@pytest.mark.django_db
def test_a_rendered_form_carries_a_token_the_middleware_accepts():
    shopper = Client(enforce_csrf_checks=True)
    page = shopper.get("/accounts/login/")
    token = page.context["csrf_token"]

    assert _unmask_cipher_token(str(token)) == shopper.cookies["csrftoken"].value
    refused = shopper.post("/accounts/login/", {"login": "x@example.com"})
    accepted = shopper.post(
        "/accounts/login/", {"login": "x@example.com", "csrfmiddlewaretoken": token}
    )
    assert refused.status_code == 403
    assert accepted.status_code == 200  # the form, with its errors
