"""Locks: a database row held while a block runs (even when the block calls Xero), and a
named lock in the shared cache for work that must not overlap across processes."""

import logging
import math
import secrets
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import connection, transaction

from .redis import CACHE_UNREACHABLE, redis_client, redis_script

logger = logging.getLogger(__name__)
_registry_lock = threading.Lock()
_process_locks: dict = {}
_held: ContextVar = ContextVar("held_named_lock", default=None)


@contextmanager
def locked_row(queryset, **lookup):
    """Yield the row matching `lookup` (or None), fresh, held until the block ends.

    On PostgreSQL this is SELECT … FOR UPDATE inside a transaction, which serialises
    every process. SQLite has no row locks: its transaction would hold the whole file
    for the block, and a block that calls Xero would then stall the embedded sandbox
    sharing that file. There (the one-process demo) a process-wide lock per row
    serialises instead, and the block's writes commit as they go.
    """
    if connection.vendor == "sqlite":
        key = (queryset.model._meta.label, tuple(sorted((k, str(v)) for k, v in lookup.items())))
        with _registry_lock:
            lock = _process_locks.setdefault(key, threading.Lock())
        with lock:
            yield queryset.filter(**lookup).first()
    else:
        with transaction.atomic():
            yield queryset.select_for_update().filter(**lookup).first()


# Delete the lock only if it is still ours (it may have timed out and been taken since);
# then remove what the holder asked to go with it (KEYS[i] a sorted set, ARGV[i] its member).
RELEASE_LOCK_LUA = ("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end "
                    "for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i]) end")
# Hold it longer only if it is still ours; 1 when it was.
EXTEND_LOCK_LUA = ("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 "
                   "end return 0")


class LockBusy(TimeoutError):
    """The named lock stayed taken for as long as the caller would wait."""


class Lease:
    """A named lock being held: `extend` moves the moment a dead holder's lock frees up.
    (Its key is built with make_key: the callers' keys are valid for Redis, and Django's
    check, written for memcached, walks every character on each call.)"""

    def __init__(self, key: str, token: int, hold_seconds: float):
        self.key = key
        self.token = token
        self._until = time.monotonic() + hold_seconds
        self._with_release = {}  # sorted-set key -> the member its release removes

    def remove_on_release(self, key: str, member: str) -> bool:
        """Have the release also remove `member` from the sorted set `key`, in the same
        round trip (one to Redis fewer for the caller). False when it cannot (not on
        Redis, or a member of `key` is waiting already): the caller removes it itself."""
        if key in self._with_release or redis_client() is None:
            return False
        self._with_release[key] = member
        return True

    def take_back(self, key: str) -> str | None:
        """The member waiting to be removed from `key` at the release, no longer left to it:
        the caller removes it (with its next command on `key`)."""
        return self._with_release.pop(key, None)

    def seconds_left(self) -> float:
        """How long the lock is held from now at most, as this holder last set it."""
        return self._until - time.monotonic()

    def extend(self, hold_seconds: float) -> bool:
        """Keep the lock for `hold_seconds` from now (not added to what is left). False when
        it was lost meanwhile (it timed out and may have been taken)."""
        until = time.monotonic() + hold_seconds
        client = redis_client()
        if client is not None:
            kept = bool(redis_script(client, EXTEND_LOCK_LUA)(
                keys=[cache.make_key(self.key)], args=[self.token, int(hold_seconds * 1000)],
                client=client))
        elif cache.get(self.key) != self.token:
            kept = False
        else:
            cache.set(self.key, self.token, math.ceil(hold_seconds))
            kept = True
        if kept:
            self._until = until
        return kept

    def release(self) -> None:
        # The block's work is done: a cache that went away since must not turn its answer
        # into an error. The lock then ages out after its hold.
        try:
            client = redis_client()
            if client is not None:
                keys = [cache.make_key(key) for key in (self.key, *self._with_release)]
                redis_script(client, RELEASE_LOCK_LUA)(keys=keys, args=[self.token, *self._with_release.values()],
                                                       client=client)
            elif cache.get(self.key) == self.token:
                cache.delete(self.key)
        except CACHE_UNREACHABLE as exc:
            logger.warning("Lock %s not released (the cache is unreachable: %s); it ages out", self.key, exc)


def held_lease() -> Lease | None:
    """The Lease of the named lock this thread's code runs under (the innermost), if any."""
    return _held.get()


@contextmanager
def named_lock(key: str, *, hold_seconds: float, wait_seconds: float):
    """Hold `key` in the shared cache (Redis in production, so across processes) while the
    block runs, yielding its Lease. A holder that dies leaves it for at most
    `hold_seconds` (or what its last Lease.extend gave it). Raises LockBusy after
    waiting `wait_seconds` for another holder."""
    # An int: Django's Redis cache stores ints as plain digits, which the scripts can
    # compare (it pickles anything else).
    token = secrets.randbits(62)
    deadline = time.monotonic() + wait_seconds
    delay = 0.005
    while not cache.add(key, token, math.ceil(hold_seconds)):
        if time.monotonic() > deadline:
            raise LockBusy(key)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    lease = Lease(key, token, hold_seconds)
    held = _held.set(lease)
    try:
        yield lease
    finally:
        _held.reset(held)
        lease.release()
