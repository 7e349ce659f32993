"""Our side of Xero's per-organisation limits (60 calls a minute, 5 at once): count in
the shared cache (Redis in production) and refuse before calling Xero, so one busy
company cannot get the whole app throttled.

On Redis a slot is taken in one round trip (a Lua script) and given back in another;
the keys and values are the ones Django's cache API reads and writes, which the demo's
local-memory cache goes through instead.

# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
"""

import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from apps.core.redis import CACHE_UNREACHABLE, redis_client, redis_script

from .client import XeroRateLimited

logger = logging.getLogger(__name__)

# Leaked concurrency counts (a process killed mid-call) age out after this long.
CONCURRENCY_TTL = 300
MINUTE_TTL = 120

# KEYS: minute counter, concurrency counter; ARGV: their limits, then their timeouts.
# Like cache.add + cache.incr, a counter's timeout is set when it starts. Returns 0 for a
# slot, 1 past the minute limit, 2 past the concurrency limit (that count taken back).
TAKE_LUA = """
local minute = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if minute > tonumber(ARGV[1]) then return 1 end
local concurrent = redis.call('INCR', KEYS[2])
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
if concurrent > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[2])
  return 2
end
return 0
"""
# A counter that aged out meanwhile is left alone.
GIVE_BACK_LUA = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end"


def _take(minute_key, concurrent_key, limits) -> int:
    client = redis_client()
    if client is not None:
        keys = [cache.make_and_validate_key(minute_key), cache.make_and_validate_key(concurrent_key)]
        args = [limits["tenant_per_minute"], limits["tenant_concurrent"], MINUTE_TTL, CONCURRENCY_TTL]
        return redis_script(client, TAKE_LUA)(keys=keys, args=args, client=client)
    cache.add(minute_key, 0, MINUTE_TTL)
    if cache.incr(minute_key) > limits["tenant_per_minute"]:
        return 1
    cache.add(concurrent_key, 0, CONCURRENCY_TTL)
    if cache.incr(concurrent_key) > limits["tenant_concurrent"]:
        cache.decr(concurrent_key)
        return 2
    return 0


def _give_back(concurrent_key) -> None:
    client = redis_client()
    try:
        if client is not None:
            redis_script(client, GIVE_BACK_LUA)(keys=[cache.make_and_validate_key(concurrent_key)], client=client)
            return
        cache.decr(concurrent_key)
    except ValueError:  # aged out meanwhile
        pass
    except CACHE_UNREACHABLE as exc:
        # The call to Xero is over and its answer stands; the slot ages out with its counter.
        logger.warning("Xero call slot %s not given back (the cache is unreachable: %s)", concurrent_key, exc)


@contextmanager
def xero_slot(tenant_id):
    """Hold one of the organisation's call slots, or raise XeroRateLimited without
    calling Xero."""
    limits = settings.XERO_RATE_LIMITS
    now = time.time()
    minute_key = f"xero-rl:min:{tenant_id}:{int(now // 60)}"
    concurrent_key = f"xero-rl:conc:{tenant_id}"
    refused = _take(minute_key, concurrent_key, limits)
    if refused == 1:
        raise XeroRateLimited("Xero's per-minute limit for this organisation is reached",
                              retry_after=max(1, 60 - int(now % 60)), problem_kind="minute", status=429)
    if refused == 2:
        raise XeroRateLimited("Too many calls to this Xero organisation at once", retry_after=1,
                              problem_kind="concurrent", status=429)
    try:
        yield
    finally:
        _give_back(concurrent_key)
