"""Sessions in Redis (core/sessions.py, core/cache.py), against a real server."""

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches
from django.test import Client

from core.sessions import SessionStore


@pytest.fixture
def redis_sessions(redis_url, settings):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "cellar-test-sessions",
        },
    }
    settings.SESSION_ENGINE = "core.sessions"
    settings.SESSION_CACHE_ALIAS = "sessions"
    store = caches["sessions"]
    store.clear()
    yield store
    store.clear()


CONNECTION_SETUP = {"HELLO", "AUTH", "SELECT", "CLIENT"}


@pytest.fixture
def all_in_redis(redis_sessions, redis_url, settings):
    """Cache and sessions on one Redis, and the catalogue copies on, as production."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "cellar-test-default",
        },
    }
    settings.CATALOGUE_CACHE_SECONDS = 600
    caches["default"].clear()
    yield redis_sessions
    caches["default"].clear()


def commands(store, action):
    """The Redis commands ``action`` sends, by name, with MONITOR on a side line."""
    client = store._cache.get_client(write=True)
    monitor = client.monitor()
    try:
        monitor.connection.send_command("MONITOR")
        monitor.connection.read_response()
        action()
        client.ping()  # marks the end of what the action sent
        seen = []
        while True:
            line = monitor.next_command()
            command = line["command"].split()[0].upper()
            if command == "PING":
                return seen
            # What a script runs inside Redis is no round trip of its own.
            if command not in CONNECTION_SETUP and line["client_type"] != "lua":
                seen.append(command)
    finally:
        monitor.connection.disconnect()


def test_saving_a_session_writes_it_in_one_command(redis_sessions):
    session = SessionStore()
    session["cart"] = {"items": {"7": 1}}
    session.create()

    again = SessionStore(session.session_key)
    again["cart"] = {"items": {"7": 2}}
    sent = commands(redis_sessions, again.save)

    assert sent == ["SET"]
    assert SessionStore(session.session_key).load() == {"cart": {"items": {"7": 2}}}


def test_a_session_deleted_meanwhile_is_not_brought_back(redis_sessions):
    session = SessionStore()
    session["cart"] = {"items": {"7": 1}}
    session.create()
    stale = SessionStore(session.session_key)
    assert stale["cart"] == {"items": {"7": 1}}  # a request has read it

    SessionStore(session.session_key).delete()  # a logout in another tab
    stale["cart"] = {"items": {"7": 5}}

    with pytest.raises(UpdateError):
        stale.save()
    assert not SessionStore().exists(session.session_key)


def test_replace_keeps_the_expiry_and_skips_missing_keys(redis_sessions):
    assert redis_sessions.replace("absent", 1, 60) is False
    assert redis_sessions.get("absent") is None

    redis_sessions.set("present", {"a": 1}, 60)
    assert redis_sessions.replace("present", {"a": 2}, 30) is True
    assert redis_sessions.get("present") == {"a": 2}
    raw = redis_sessions.make_and_validate_key("present")
    assert 0 < redis_sessions._cache.get_client().ttl(raw) <= 30


def test_a_cart_lives_in_redis_across_requests(redis_sessions, wines):
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})

    key = shopper.cookies["sessionid"].value
    assert SessionStore(key).load()["cart"]["items"] == {str(wines["red"].pk): 3}
    assert shopper.get("/cart/api/").json()["count"] == 3


def test_a_cart_read_is_one_round_trip_and_an_add_two(all_in_redis, wines):
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    shopper.get("/cart/api/")  # fills this process's copy of the variant

    def read():
        assert shopper.get("/cart/api/").json()["count"] == 1

    def add():
        form = {"variant": wines["red"].pk, "quantity": 2}
        assert shopper.post("/cart/add/", form).status_code == 302

    # The session and the catalogue's version in one MGET; the lines from the copy.
    assert commands(all_in_redis, read) == ["MGET"]
    # The same, then the session written back only if it is still as it was read
    # (a compare-and-set script); the middleware's save at the end writes nothing.
    assert commands(all_in_redis, add) == ["MGET", "EVALSHA"]
    assert shopper.get("/cart/api/").json()["count"] == 3


def test_a_price_saved_in_another_process_shows_at_once(all_in_redis, wines):
    """Another web process saves the price: all this one sees of it is the version
    in Redis moving on, read along with the session."""
    shopper = Client()
    shopper.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 2})
    assert shopper.get("/cart/api/").json()["total"] == "20.00"

    type(wines["red"]).objects.filter(pk=wines["red"].pk).update(price="9.00")
    caches["default"].incr("catalogue:version")  # what the other process did

    assert shopper.get("/cart/api/").json()["total"] == "18.00"


def test_save_if_unchanged_refuses_a_session_saved_meanwhile(redis_sessions):
    # Given two requests that read the same session
    session = SessionStore()
    session["cart"] = {"items": {"7": 1}}
    session.create()
    first, second = SessionStore(session.session_key), SessionStore(session.session_key)
    first.load(), second.load()

    # When both change it and save only if it is unchanged
    first["cart"] = {"items": {"7": 1, "8": 1}}
    second["cart"] = {"items": {"7": 1, "9": 1}}

    # Then the first is stored, the second refused, and the store holds the first
    assert first.save_if_unchanged() is True
    assert second.save_if_unchanged() is False
    stored = SessionStore(session.session_key).load()
    assert stored == {"cart": {"items": {"7": 1, "8": 1}}}
    # and the middleware's later save of the first writes nothing more
    assert commands(redis_sessions, first.save) == []
