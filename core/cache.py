"""Django's Redis cache, without a new client object for every call, and with what
sessions need (core/sessions.py): ``replace`` (write a key only if it is there)
and ``get_along`` (read a key of another cache in the same round trip, if free).

Django's ``RedisCacheClient.get_client`` builds a ``redis.Redis`` around the
connection pool on each cache call, and redis-py fills some 170 response callbacks
into every new one: about 0.3 ms of CPU per call, more than the round trip to
Redis. Sessions, the catalogue cache and Wagtail's site lookups all pay it on every
request. A ``redis.Redis`` is safe to share between threads (each command borrows a
connection from the pool), so each pool gets one for the life of the process.
"""

from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT

# Write KEYS[1] only if it still holds exactly the bytes read before (ARGV[1]): a
# compare-and-set in one round trip (EVALSHA), atomic in Redis.
_REPLACE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def replace(self, key, value, timeout):
        client = self.get_client(key, write=True)
        value = self._serializer.dumps(value)
        return bool(client.set(key, value, ex=timeout, xx=True))

    def replace_if(self, key, expected, value, timeout):
        client = self.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:
            script = self._scripts[id(client)] = client.register_script(_REPLACE_IF)
        raw = self._serializer.dumps(value)
        return raw if script(keys=[key], args=[expected, raw, timeout]) else None


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def get_along(self, key, other, other_key):
        """``(self.get(key), other.get(other_key), raw)`` in one MGET when both
        caches use the same Redis; otherwise the other value is None: it is read
        only when it costs no round trip of its own. ``raw`` is the key's bytes as
        stored, for ``replace_if``."""
        mine_key = self.make_and_validate_key(key)
        keys = [mine_key]
        if isinstance(other, RedisCache) and other._servers == self._servers:
            keys.append(other.make_and_validate_key(other_key))
        mine, *theirs = self._cache.get_client(mine_key).mget(keys)
        theirs = theirs[0] if theirs else None
        return (
            None if mine is None else self._cache._serializer.loads(mine),
            None if theirs is None else other._cache._serializer.loads(theirs),
            mine,
        )

    def replace_if(self, key, expected, value, timeout=DEFAULT_TIMEOUT, version=None):
        """Set ``key`` only if it still holds ``expected`` (the raw bytes
        ``get_along`` gave), in one atomic round trip: the bytes written, or None
        if the key held something else."""
        key = self.make_and_validate_key(key, version=version)
        return self._cache.replace_if(
            key, expected, value, self.get_backend_timeout(timeout)
        )

    def replace(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """Set ``key`` only if it exists, in one round trip (Redis SET XX); whether
        it did."""
        key = self.make_and_validate_key(key, version=version)
        return self._cache.replace(key, value, self.get_backend_timeout(timeout))
