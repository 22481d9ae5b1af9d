"""Wrong coupon codes are limited atomically: of many guesses sent at once, no more
than the limit are ever checked, in Redis as in the local cache."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from coupons.services import (
    MAX_FAILURES,
    CouponRejected,
    TooManyAttempts,
    validate_code,
)

GUESSES = 60


@pytest.fixture(params=["locmem", "redis"])
def shop_cache(request, settings):
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {
            **settings.CACHES,
            "default": {
                "BACKEND": "core.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"cellar-test-{uuid.uuid4().hex[:8]}",
            },
        }
    cache.clear()
    yield request.param
    cache.clear()


def guess_at_once(address, count):
    factory = RequestFactory()
    start = Barrier(count)

    def guess(number):
        request = factory.post("/cart/coupon/", REMOTE_ADDR=address)
        start.wait(timeout=30)
        try:
            validate_code(f"WRONG{number}", Decimal("50.00"), request)
        except CouponRejected:
            return "checked"
        except TooManyAttempts:
            return "limited"
        finally:
            connection.close()
        return "valid"

    with ThreadPoolExecutor(count) as pool:
        return sorted(pool.map(guess, range(count)))


@pytest.mark.django_db
def test_sixty_wrong_codes_at_once_check_only_the_limit(shop_cache):
    # When 60 wrong codes arrive at once from one address
    outcomes = guess_at_once("203.0.113.7", GUESSES)

    # Then exactly the limit were checked, and every other one was refused unread
    assert outcomes.count("checked") == MAX_FAILURES
    assert outcomes.count("limited") == GUESSES - MAX_FAILURES
    # and another address is not affected
    assert guess_at_once("203.0.113.8", 1) == ["checked"]


@pytest.mark.django_db
def test_a_valid_code_does_not_use_up_a_guess(shop_cache, rf):
    from coupons.models import Coupon

    Coupon.objects.create(code="RATE10", kind="percent", value=10)
    request = rf.post("/cart/coupon/", REMOTE_ADDR="203.0.113.9")

    for _ in range(MAX_FAILURES + 3):
        assert validate_code("rate10", Decimal("50.00"), request).code == "RATE10"
    for _ in range(MAX_FAILURES):
        with pytest.raises(CouponRejected):
            validate_code("nope", Decimal("50.00"), request)
    with pytest.raises(TooManyAttempts) as limited:
        validate_code("rate10", Decimal("50.00"), request)
    assert 1 <= limited.value.retry_after <= 61


@pytest.mark.parametrize(
    "proxies, forwarded, address",
    [
        (0, "198.51.100.1", "10.0.0.2"),  # no proxy: the header is the client's word
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a forged first hop is skipped
        (2, "198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (2, "", "10.0.0.2"),  # no header: the proxy's own address
    ],
)
def test_limits_key_on_the_address_the_trusted_proxy_saw(
    rf, settings, proxies, forwarded, address
):
    from core.ratelimit import client_address

    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == address
