"""Our side of Xero's per-organisation limits (60 calls a minute, 5 at once): count in
the shared cache (Redis in production) and refuse before calling Xero, so one busy
company cannot get the whole app throttled.

A call at once is a slot held until the call's own deadline (client.deadline, else the
longest a call with a refresh and a retry can take): a process killed mid-call leaves its
slot for no longer than the call could have lasted. On Redis the slots are a sorted set
of holders by the end of their hold, taken in one round trip (a Lua script) and given back
in another; the demo's local-memory cache keeps the same in one process. Under a named lock
(a push's account lock) the slot is given back with the lock's release, in its round trip,
or with the holder's next call to the organisation, whichever comes first: the holder
keeps one slot at most, a few milliseconds longer.

# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
"""

import logging
import math
import secrets
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from apps.core.locks import held_lease
from apps.core.redis import CACHE_UNREACHABLE, redis_client, redis_script

from . import client
from .client import XeroRateLimited

logger = logging.getLogger(__name__)

MINUTE_TTL = 120
# Beyond the deadline: the time to take the answer in and give the slot back.
SLOT_MARGIN = 5

# KEYS: minute counter, slot holders; ARGV: their limits, the minute's timeout, the hold in
# ms, this holder's token and the token of a slot it gives back first ('' for none). Like
# cache.add + cache.incr, the minute's timeout is set when it starts. Returns 0 for a slot,
# 1 past the minute limit, 2 past the concurrency limit.
TAKE_LUA = """
if ARGV[6] ~= '' then redis.call('ZREM', KEYS[2], ARGV[6]) end
local minute = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if minute > tonumber(ARGV[1]) then return 1 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 2 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 0
"""
_local_lock = threading.Lock()


def slot_hold_seconds() -> float:
    """How long a slot taken now is held at most: to the current deadline, else for a call,
    a forced refresh and its retry (xero_call's longest exchange)."""
    left = client.seconds_left()
    return (left if left is not None else 3 * settings.XERO_TIMEOUT_SECONDS) + SLOT_MARGIN


def _take(minute_key, slots_key, token, limits, hold, given_back: str | None) -> int:
    redis = redis_client()
    if redis is not None:
        # make_key, not make_and_validate_key: our keys (ids, digits) are valid for Redis,
        # and the check (written for memcached) walks every character of them on each call.
        keys = [cache.make_key(minute_key), cache.make_key(slots_key)]
        args = [limits["tenant_per_minute"], limits["tenant_concurrent"], MINUTE_TTL, int(hold * 1000), token,
                given_back or ""]
        return redis_script(redis, TAKE_LUA)(keys=keys, args=args, client=redis)
    # Without Redis nothing is left to a lock's release (Lease.remove_on_release).
    cache.add(minute_key, 0, MINUTE_TTL)
    if cache.incr(minute_key) > limits["tenant_per_minute"]:
        return 1
    with _local_lock:  # the local-memory cache is this process's: a lock makes it atomic
        now = time.time()
        holders = {t: end for t, end in cache.get(slots_key, {}).items() if end > now}
        if len(holders) >= limits["tenant_concurrent"]:
            return 2
        holders[token] = now + hold
        cache.set(slots_key, holders, math.ceil(max(holders.values()) - now))
    return 0


def _give_back(slots_key, token) -> None:
    try:
        redis = redis_client()
        if redis is not None:
            redis.zrem(cache.make_key(slots_key), token)
            return
        with _local_lock:
            holders = cache.get(slots_key, {})
            if holders.pop(token, None) is not None and holders:
                cache.set(slots_key, holders, math.ceil(max(1.0, max(holders.values()) - time.time())))
            elif not holders:
                cache.delete(slots_key)
    except CACHE_UNREACHABLE as exc:
        # The call to Xero is over and its answer stands; the slot ages out with its deadline.
        logger.warning("Xero call slot %s not given back (the cache is unreachable: %s)", slots_key, exc)


@contextmanager
def xero_slot(tenant_id):
    """Hold one of the organisation's call slots, or raise XeroRateLimited without
    calling Xero."""
    limits = settings.XERO_RATE_LIMITS
    now = time.time()
    minute_key = f"xero-rl:min:{tenant_id}:{int(now // 60)}"
    slots_key = f"xero-rl:slots:{tenant_id}"
    token = secrets.token_hex(8)
    lease = held_lease()
    # The holder's previous slot, left to its lock's release: given back with this take.
    given_back = lease.take_back(slots_key) if lease is not None else None
    refused = _take(minute_key, slots_key, token, limits, slot_hold_seconds(), given_back)
    if refused == 1:
        raise XeroRateLimited("Xero's per-minute limit for this organisation is reached",
                              retry_after=max(1, 60 - int(now % 60)), problem_kind="minute", status=429)
    if refused == 2:
        raise XeroRateLimited("Too many calls to this Xero organisation at once", retry_after=1,
                              problem_kind="concurrent", status=429)
    try:
        yield
    finally:
        if lease is None or not lease.remove_on_release(slots_key, token):
            _give_back(slots_key, token)
