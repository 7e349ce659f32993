"""Xero's API limits, counted in Django's cache so every thread (and, with Redis, every
process) of the server shares them.

Per tenant: ``tenant_per_minute`` (60), ``tenant_concurrent`` (5), ``tenant_per_day``
(5000); per app on Statements: ``app_statements_per_minute`` (180); per app overall:
``app_per_minute`` (10,000, Xero's app-wide minute limit). Values come from
``settings.XERO_SANDBOX_LIMITS`` at request time. Windows are fixed (calendar minute and
UTC day), which is stricter than a sliding window at the edges only by a little.
A call refused with 429 does not count against the limits.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

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


@contextmanager
def admit(tenant_id: str, client_id: str, statements: bool):
    """Count one call; yields an Outcome. Concurrency is released when the block ends."""
    lim = limits()
    now = time.time()
    minute, day = int(now // 60), int(now // 86400)
    retry_minute = max(1, int(60 - now % 60))
    retry_day = max(1, int(86400 - now % 86400))
    keys = {
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
    counted, values = [], {}
    outcome = Outcome()
    for name, (key, timeout, limit, retry) in keys.items():
        value = _hit(key, timeout)
        counted.append(key)
        values[name] = value
        if value > limit:
            outcome.problem, outcome.retry_after = name, retry
            break
    if outcome.problem:
        for key in counted:
            _undo(key)
    else:
        outcome.headers = {
            "X-MinLimit-Remaining": str(max(0, keys["minute"][2] - values["minute"])),
            "X-DayLimit-Remaining": str(max(0, keys["day"][2] - values["day"])),
            "X-AppMinLimit-Remaining": str(max(0, keys["appminute"][2] - values["appminute"])),
        }
    try:
        yield outcome
    finally:
        if not outcome.problem:
            _undo(keys["concurrent"][0])


def reset() -> None:
    """Forget all counts (tests call cache.clear(), which does the same)."""
    cache.clear()
