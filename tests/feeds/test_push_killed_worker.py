"""kill -9 of a gunicorn worker in the middle of a push: the resend does not wait minutes
for the dead worker's account lock or its call slot (both last a Xero exchange's deadline),
and the operation it left Pending is finished by asking Xero, delivered once."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from apps.feeds.models import PushOperation, PushStatus
from tests.feeds.push_support import add_fault, batch, push_url
from tests.processes import database_url, free_port
from tests.xero_helpers import delivered_lines

pytestmark = pytest.mark.django_db(transaction=True)

XERO_TIMEOUT = 3


@pytest.fixture
def api_server(xero_on_live_server):
    """Our API under gunicorn (one worker) on the test database, calling the sandbox of the
    live server with a short Xero timeout and one call at a time per organisation."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": database_url(),
           "XERO_LOGIN_URL": settings.XERO_LOGIN_URL, "XERO_IDENTITY_URL": settings.XERO_IDENTITY_URL,
           "XERO_API_URL": settings.XERO_API_URL, "XERO_TIMEOUT_SECONDS": str(XERO_TIMEOUT),
           "XERO_TENANT_CONCURRENT": "1"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4", "--timeout", "120"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    try:
        yield server, url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        with connection.cursor() as cursor:  # what the killed worker left, so the test database can go
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def worker_pid(server) -> int:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True, text=True).stdout
    return int(out.split()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two processes share the test database")
def test_a_push_whose_worker_is_killed_is_finished_by_the_resend_within_the_deadline(
        partner_a, connected_account, api_server, xero_on_live_server):
    server, url = api_server
    transactions = batch(3)
    body = {"accountId": connected_account.account_id, "transactions": transactions}
    headers = {"Authorization": partner_a.auth}
    # Xero hangs on the statement: the worker waits for it, holding the account lock and
    # the organisation's only call slot.
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/Statements", method="POST", mode="hang",
              seconds=20)

    def first_push():
        with pytest.raises(requests.ConnectionError):  # its worker dies before it answers
            requests.post(url + push_url(connected_account), json=body, headers=headers, timeout=30)

    first = threading.Thread(target=first_push, daemon=True)
    first.start()
    for _ in range(100):
        if PushOperation.objects.filter(status=PushStatus.PENDING).exists():
            break
        time.sleep(0.1)
    orphan = PushOperation.objects.get()
    time.sleep(0.5)  # the statement is on its way to Xero
    os.kill(worker_pid(server), signal.SIGKILL)

    started = time.monotonic()
    resent = requests.post(url + push_url(connected_account), json=body, headers=headers, timeout=60)
    waited = time.monotonic() - started
    print(f"resend answered after {waited:.1f} s")

    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "Success"
    assert "already delivered" in resent.json()["validation"]["warnings"][0]["message"]
    assert waited < XERO_TIMEOUT + 10 + 5, waited  # the lock's margin past the deadline, not 120 s
    orphan.refresh_from_db()
    assert orphan.delivered and orphan.status in (PushStatus.PENDING, PushStatus.SUCCESS)
    assert len(delivered_lines(connected_account)) == 3
