"""Django's Redis cache, with one redis-py client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call; its
constructor (about 80 response callbacks) costs more than the round trip itself, and a
push makes a dozen cache calls (account lock, rate limiter). ``redis.Redis`` over a
connection pool is thread-safe, so one per pool is enough."""

from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from redis import exceptions as redis_exceptions

# The shared cache cannot be reached (down, or not answering within its socket timeout):
# what the partner API and the portal answer as "unavailable, retry", not as a fault.
CACHE_UNREACHABLE = (redis_exceptions.ConnectionError, redis_exceptions.TimeoutError)


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


def redis_client():
    """The default cache's redis-py client when the cache is Redis, else None (the
    demo's LocMemCache), for the few places that need one round trip instead of several."""
    backend = caches["default"]
    return backend._cache.get_client(write=True) if isinstance(backend, django_redis.RedisCache) else None


def cache_reachable() -> bool:
    """Whether the shared cache answers (always, for the demo's local memory)."""
    client = redis_client()
    if client is None:
        return True
    try:
        return bool(client.ping())
    except CACHE_UNREACHABLE:
        return False


_scripts = {}


def redis_script(client, text: str):
    """A Lua script registered once per process (redis-py runs it by its SHA)."""
    if text not in _scripts:
        _scripts[text] = client.register_script(text)
    return _scripts[text]
