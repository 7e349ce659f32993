"""The sandbox's own access to Redis behind Django's default cache, for Lua scripts.

The rate limiter counts in one Redis round trip when the cache is Redis. The sandbox
asks Django's cache for its redis-py client rather than opening a connection of its
own, so it shares the cache's server, database and pool, whoever configured them."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def redis_client():
    """The default cache's redis-py client when the cache is Django's Redis cache (or a
    subclass), else None: any other backend is used through the cache API."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


_scripts = {}


def redis_script(client, text: str):
    """The Lua script `text`, registered once per process: redis-py then runs it by its
    SHA (EVALSHA) and loads it again only if the server has forgotten it."""
    if text not in _scripts:
        _scripts[text] = client.register_script(text)
    return _scripts[text]
