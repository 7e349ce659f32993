"""Xero's API limits, counted in Django's cache so every thread (and, with Redis, every
process) of the server shares them.

Per tenant: ``tenant_per_minute`` (60), ``tenant_concurrent`` (5), ``tenant_per_day``
(5000); per app on Statements: ``app_statements_per_minute`` (180); per app overall:
``app_per_minute`` (10,000, Xero's app-wide minute limit). Values come from
``settings.XERO_SANDBOX_LIMITS`` at request time. Windows are fixed (calendar minute and
UTC day), which is stricter than a sliding window at the edges only by a little.
A call refused with 429 does not count against the limits.

On Django's Redis cache the counting is one Lua script and the release another: two
round trips instead of fourteen (``cache.add`` + ``cache.incr``, itself EXISTS + INCRBY,
per counter, and ``cache.decr``). The keys and values are the ones the cache API reads
and writes, so both paths count alike. Any other backend (LocMemCache in the demo and
some tests) goes through the cache API.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from .cache_scripts import redis_client, redis_script

DEFAULTS = {
    "tenant_per_minute": 60,
    "tenant_concurrent": 5,
    "tenant_per_day": 5000,
    "app_statements_per_minute": 180,
    "app_per_minute": 10000,
}
PREFIX = "xero-sandbox:rl"


def limits() -> dict:
    """Current limits (settings override the defaults)."""
    return {**DEFAULTS, **getattr(settings, "XERO_SANDBOX_LIMITS", {})}


@dataclass
class Outcome:
    """Either headers for a permitted call, or the 429 problem for a refused one."""

    headers: dict = field(default_factory=dict)
    problem: str | None = None
    retry_after: int = 0


# KEYS: the counters in checking order; ARGV: their timeouts, then their limits. Like
# cache.add + cache.incr, a counter's timeout is set only when it starts. Stops at the
# first counter over its limit and takes back every count made: returns {index} (1-based);
# otherwise {0, value...}.
ADMIT_LUA = """
local n = #KEYS
local values = {0}
for i = 1, n do
  local value = redis.call('INCR', KEYS[i])
  if redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], ARGV[i]) end
  if value > tonumber(ARGV[n + i]) then
    for j = 1, i do redis.call('DECR', KEYS[j]) end
    return {i}
  end
  values[i + 1] = value
end
return values
"""
# Like cache.decr: a counter that has expired is left alone.
RELEASE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
"""


def _hit(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: start again.
        cache.set(key, 1, timeout)
        return 1


def _undo(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:
        pass


def _count(counters: dict) -> tuple[str | None, dict]:
    """Count through the cache API: (the counter over its limit or None, the values)."""
    counted, values = [], {}
    for name, (key, timeout, limit, _) in counters.items():
        values[name] = _hit(key, timeout)
        counted.append(key)
        if values[name] > limit:
            for done in counted:
                _undo(done)
            return name, values
    return None, values


def _count_on_redis(client, keys: list[str], counters: dict) -> tuple[str | None, dict]:
    """The same as _count, in one round trip."""
    names, specs = list(counters), list(counters.values())
    result = redis_script(client, ADMIT_LUA)(
        keys=keys, args=[s[1] for s in specs] + [s[2] for s in specs], client=client
    )
    if result[0]:
        return names[result[0] - 1], {}
    return None, dict(zip(names, result[1:], strict=True))


@contextmanager
def admit(tenant_id: str, client_id: str, statements: bool):
    """Count one call; yields an Outcome. Concurrency is released when the block ends."""
    lim = limits()
    now = time.time()
    minute, day = int(now // 60), int(now // 86400)
    retry_minute = max(1, int(60 - now % 60))
    retry_day = max(1, int(86400 - now % 86400))
    counters = {
        "concurrent": (f"{PREFIX}:c:{tenant_id}", 3600, lim["tenant_concurrent"], 1),
        "minute": (f"{PREFIX}:m:{tenant_id}:{minute}", 120, lim["tenant_per_minute"], retry_minute),
        "day": (f"{PREFIX}:d:{tenant_id}:{day}", 90000, lim["tenant_per_day"], retry_day),
        "appminute": (
            f"{PREFIX}:am:{client_id}:{'st:' if statements else ''}{minute}",
            120,
            lim["app_statements_per_minute"] if statements else lim["app_per_minute"],
            retry_minute,
        ),
    }
    client = redis_client()
    if client is not None:
        keys = [cache.make_and_validate_key(spec[0]) for spec in counters.values()]
        refused, values = _count_on_redis(client, keys, counters)
    else:
        refused, values = _count(counters)
    outcome = Outcome()
    if refused:
        outcome.problem, outcome.retry_after = refused, counters[refused][3]
    else:
        outcome.headers = {
            "X-MinLimit-Remaining": str(max(0, counters["minute"][2] - values["minute"])),
            "X-DayLimit-Remaining": str(max(0, counters["day"][2] - values["day"])),
            "X-AppMinLimit-Remaining": str(max(0, counters["appminute"][2] - values["appminute"])),
        }
    try:
        yield outcome
    finally:
        if not outcome.problem:
            if client is None:
                _undo(counters["concurrent"][0])
            else:
                redis_script(client, RELEASE_LUA)(keys=keys[:1], client=client)


def reset() -> None:
    """Forget all counts (tests call cache.clear(), which does the same)."""
    cache.clear()
