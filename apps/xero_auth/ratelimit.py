"""Our side of Xero's per-organisation limits (60 calls a minute, 5 at once): count in
the shared cache (Redis in production) and refuse before calling Xero, so one busy
company cannot get the whole app throttled.

# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
"""

import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from .client import XeroRateLimited

# Leaked concurrency counts (a process killed mid-call) age out after this long.
CONCURRENCY_TTL = 300


@contextmanager
def xero_slot(tenant_id):
    """Hold one of the organisation's call slots, or raise XeroRateLimited without
    calling Xero."""
    limits = settings.XERO_RATE_LIMITS
    now = time.time()
    minute_key = f"xero-rl:min:{tenant_id}:{int(now // 60)}"
    cache.add(minute_key, 0, 120)
    if cache.incr(minute_key) > limits["tenant_per_minute"]:
        raise XeroRateLimited("Xero's per-minute limit for this organisation is reached",
                              retry_after=max(1, 60 - int(now % 60)), problem_kind="minute", status=429)
    concurrent_key = f"xero-rl:conc:{tenant_id}"
    cache.add(concurrent_key, 0, CONCURRENCY_TTL)
    if cache.incr(concurrent_key) > limits["tenant_concurrent"]:
        cache.decr(concurrent_key)
        raise XeroRateLimited("Too many calls to this Xero organisation at once", retry_after=1,
                              problem_kind="concurrent", status=429)
    try:
        yield
    finally:
        cache.decr(concurrent_key)
