"""Two relay processes over one outbox on PostgreSQL send each event once (row locks with
SKIP LOCKED), and a relay killed mid-batch loses nothing: the batch is sent again."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from werkzeug import Response

from apps.tenants.services import company_create
from apps.webhooks.models import Delivery, DeliveryStatus
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def relay_process(*args):
    env = {**os.environ, "DATABASE_URL": database_url(),
           "WEBHOOK_ALLOW_LOOPBACK": "1", "WEBHOOK_POLL_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "manage.py", "deliver_webhooks", "--no-upkeep", *args],
                            cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.fixture
def counting_receiver(httpserver):
    seen = Counter()
    lock = threading.Lock()

    def handler(request):
        time.sleep(0.02)
        with lock:
            seen[request.headers["webhook-id"]] += 1
        return Response("ok")

    httpserver.expect_request("/hooks").respond_with_handler(handler)
    return seen


def listening_relays() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND query = 'LISTEN webhook_events'")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL; SQLite runs one relay")
def test_two_relays_over_one_outbox_send_each_event_once(partner_a, consumer, counting_receiver):
    relays = [relay_process(), relay_process()]
    try:
        for _ in range(300):  # both idle and listening: the events wake both at once
            if listening_relays() == 2:
                break
            time.sleep(0.1)
        for n in range(300):
            company_create(partner=partner_a.partner, name=f"Company {n}")
        for _ in range(600):
            if Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 300:
                break
            time.sleep(0.1)
    finally:
        for process in relays:
            process.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0] for p in relays]

    assert len(counting_receiver) == 300
    assert set(counting_receiver.values()) == {1}
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 300
    handled = [int(out.rsplit("Stopped after ", 1)[1].split()[0]) for out in outputs]
    assert all(handled), f"both relays took part: {handled}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a relay killed mid-batch rolls back on PostgreSQL")
def test_a_relay_killed_mid_batch_loses_nothing(partner_a, consumer, httpserver):
    seen = Counter()
    started = threading.Event()

    def slow(request):
        seen[request.headers["webhook-id"]] += 1
        started.set()
        time.sleep(0.3)
        return Response("ok")

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    for n in range(20):
        company_create(partner=partner_a.partner, name=f"Company {n}")
    doomed = relay_process()
    assert started.wait(30)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert not Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()  # its batch rolled back

    survivor = relay_process("--exit-when-idle")
    survivor.communicate(timeout=120)
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 20
    assert set(seen) == {str(d.event_id) for d in Delivery.objects.all()}
    assert max(seen.values()) == 2  # at least once: what the dead relay sent goes again
