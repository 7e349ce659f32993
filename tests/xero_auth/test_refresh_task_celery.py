"""The upkeep through a real Celery worker with Redis as the broker: the beat's pass
queues its batches on the broker and the worker refreshes an idle refresh token at Xero
(the sandbox)."""

import os
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection as db
from django.utils import timezone

from apps.xero_auth.models import XeroConnection
from tests.xero_helpers import portal_app

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def celery_app():
    """config.celery's app pointed at Redis, on a queue of this process only, so another
    test run sharing the Redis cannot take our task (or we theirs)."""
    from config.celery import app

    # The app reads Django settings with the CELERY namespace: its keys carry the prefix.
    ours = {"CELERY_BROKER_URL": REDIS_URL, "CELERY_RESULT_BACKEND": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": f"test-xero-auth-{os.getpid()}"}
    saved = {key: app.conf.get(key) for key in ours}
    app.conf.update(ours)
    app._pool = None  # a producer pool made earlier in this process would keep the old broker
    yield app
    app.conf.update(saved)
    app._pool = None


def close_db(**kwargs):
    db.close()  # the worker's thread opened it: the test database must be droppable later


def test_the_worker_refreshes_an_idle_refresh_token_through_the_broker(celery_app, linked_connection):
    from apps.xero_auth.tasks import token_upkeep

    XeroConnection.objects.filter(pk=linked_connection.pk).update(
        access_token_expires_at=timezone.now() - timedelta(days=51),
        refresh_token_issued_at=timezone.now() - timedelta(days=51))
    refreshes = portal_app()["refreshCount"]
    batches = []

    def batch_done(sender=None, retval=None, **kwargs):
        if sender.name == "apps.xero_auth.tasks.token_upkeep_batch":
            batches.append(retval)

    task_postrun.connect(close_db, weak=False)
    task_postrun.connect(batch_done, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = token_upkeep.delay()
            with celery_app.connection_for_write() as broker:
                assert broker.transport.driver_type == "redis"
            assert result.get(timeout=15) == 1  # one connection handed out, in one batch
            deadline = time.monotonic() + 15
            while not batches and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(close_db)
        task_postrun.disconnect(batch_done)

    assert batches == [1]
    assert portal_app()["refreshCount"] == refreshes + 1
    stored = XeroConnection.objects.get(pk=linked_connection.pk)
    assert stored.access_token != linked_connection.access_token
    assert stored.access_token_expires_at > timezone.now() + timedelta(minutes=29)
    assert stored.refresh_token_issued_at > timezone.now() - timedelta(minutes=1)
