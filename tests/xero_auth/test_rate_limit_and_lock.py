"""Our per-organisation limiter and the per-account push lock, on Redis (as the servers
run, one round trip each way) and on the local-memory cache (as the demo runs)."""

import threading
import time

import pytest

from apps.feeds.push import account_lock, account_lock_key
from apps.xero_auth.client import XeroRateLimited
from apps.xero_auth.ratelimit import xero_slot


def test_past_the_minute_limit_a_call_is_refused_until_the_next_minute(cache_kind, settings):
    settings.XERO_RATE_LIMITS = {**settings.XERO_RATE_LIMITS, "tenant_per_minute": 2}
    for _ in range(2):
        with xero_slot("tenant-1"):
            pass
    with pytest.raises(XeroRateLimited) as refused, xero_slot("tenant-1"):
        pass
    assert refused.value.problem_kind == "minute"
    assert 1 <= refused.value.retry_after <= 60
    with xero_slot("tenant-2"):  # another organisation has its own count
        pass


def test_a_slot_held_refuses_the_next_one_and_is_given_back_when_the_call_ends(cache_kind, settings):
    settings.XERO_RATE_LIMITS = {**settings.XERO_RATE_LIMITS, "tenant_concurrent": 1}
    with xero_slot("tenant-1"):
        with pytest.raises(XeroRateLimited) as refused, xero_slot("tenant-1"):
            pass
        assert refused.value.problem_kind == "concurrent"
    with xero_slot("tenant-1"):  # given back, also after a failed call below
        pass
    with pytest.raises(ValueError, match="Xero call failed"), xero_slot("tenant-1"):
        raise ValueError("Xero call failed")
    with xero_slot("tenant-1"):
        pass


def test_calls_one_after_another_under_the_account_lock_hold_one_slot_given_back_with_the_lock(cache_kind, settings):
    # On Redis a slot taken under the lock is given back with the lock's release (one round
    # trip fewer) or with the holder's next call, whichever comes first.
    settings.XERO_RATE_LIMITS = {**settings.XERO_RATE_LIMITS, "tenant_concurrent": 1}
    with account_lock("conn", "acc-1"):
        for _ in range(3):
            with xero_slot("tenant-1"):
                pass
    with xero_slot("tenant-1"):  # the last one went back with the lock
        pass
    with account_lock("conn", "acc-1"), pytest.raises(ValueError, match="Xero call failed"), xero_slot("tenant-1"):
        raise ValueError("Xero call failed")
    with xero_slot("tenant-1"):
        pass


def test_the_account_lock_serialises_pushes_and_is_released(cache_kind):
    order = []

    def second():
        with account_lock("conn", "acc-1"):
            order.append("second")

    with account_lock("conn", "acc-1"):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")
        with pytest.raises(TimeoutError), account_lock("conn", "acc-1", wait_seconds=0.05):
            pass
        with account_lock("conn", "acc-2", wait_seconds=0):  # another account is free
            pass
    thread.join(5)
    assert order == ["first", "second"]


def test_a_holder_that_outlived_its_lock_does_not_release_the_next_holders(cache_kind):
    from django.core.cache import cache

    key = account_lock_key("conn", "acc-1")
    with account_lock("conn", "acc-1"):
        # The lock timed out and another push took it meanwhile.
        cache.set(key, 12345, 60)
    assert cache.get(key) == 12345
    with pytest.raises(TimeoutError), account_lock("conn", "acc-1", wait_seconds=0.05):
        pass


def test_a_slot_a_dead_process_left_is_free_once_its_calls_deadline_passed(cache_kind, settings, monkeypatch):
    from apps.xero_auth import client, ratelimit

    settings.XERO_RATE_LIMITS = {**settings.XERO_RATE_LIMITS, "tenant_concurrent": 1}
    monkeypatch.setattr(ratelimit, "SLOT_MARGIN", 0)
    dead = xero_slot("tenant-1")  # kept referenced: collected, it would give its slot back
    with client.deadline(1):
        dead.__enter__()  # taken and never given back: its process died
    with pytest.raises(XeroRateLimited), xero_slot("tenant-1"):
        pass
    time.sleep(1.2)
    with xero_slot("tenant-1"):
        pass


def test_a_dead_holders_account_lock_frees_within_its_last_extension(cache_kind):
    from apps.core.locks import named_lock

    dead = named_lock("push-lock:dead", hold_seconds=1, wait_seconds=0)
    lease = dead.__enter__()  # never released: its process died
    assert lease.extend(2)
    time.sleep(1.2)  # past the first hold, within the extension
    with pytest.raises(TimeoutError), named_lock("push-lock:dead", hold_seconds=1, wait_seconds=0):
        pass
    time.sleep(1.0)
    with named_lock("push-lock:dead", hold_seconds=1, wait_seconds=0):
        pass
    assert not lease.extend(2)  # lost to the next holder
