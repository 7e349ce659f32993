"""gunicorn's access log, as the Procfile runs it (config/gunicorn.py), keeps secrets out:
an API key shows as its prefix, link tokens, OAuth codes and states as [redacted], in the
request line and in the referer. Real gunicorn, real requests, the log file read back.
Issue #13, point 12."""

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.processes import database_url, free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "bfk_" + "K3ySecretPart" * 3
LINK_TOKEN = "eyJjIjoiNDIifQ:LinkTokenSecret:SignatureSecret"
OAUTH_CODE = "OAuthCodeSecret123"
OAUTH_STATE = "StateSecret456"
REFERER_TOKEN = "RefererTokenSecret"

pytestmark = pytest.mark.django_db(transaction=True)


def shared_database_url() -> str:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("gunicorn needs a database it can share with the test: PostgreSQL")
    return database_url()


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the Procfile's config on a free port; yields (base URL, log path)."""
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings",
           "GUNICORN_ACCESS_LOG": str(log), "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_access_log_shows_a_key_prefix_and_no_token_or_code(gunicorn):
    base, log = gunicorn
    basic = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert requests.get(f"{base}/api/companies", headers={"Authorization": basic}, timeout=10).status_code == 401
    assert requests.get(f"{base}/portal/link/{LINK_TOKEN}/", timeout=10).status_code == 410
    callback = requests.get(f"{base}/portal/xero/callback", params={"code": OAUTH_CODE, "state": OAUTH_STATE,
                                                                    "scope": "bankfeeds"},
                            allow_redirects=False, timeout=10)
    assert callback.status_code == 302
    referer = f"https://bankfeeds.example/portal/link/{REFERER_TOKEN}/?code={OAUTH_CODE}"
    requests.get(f"{base}/healthz", headers={"Referer": referer}, timeout=10)

    text = wait_for_lines(log, 4)
    for secret in (API_KEY, API_KEY[12:], LINK_TOKEN, "LinkTokenSecret", OAUTH_CODE, OAUTH_STATE, REFERER_TOKEN):
        assert secret not in text, (secret, text)
    lines = text.splitlines()
    assert f" {API_KEY[:12]}… " in lines[0] and '"GET /api/companies HTTP/1.1" 401' in lines[0]
    assert '"GET /portal/link/[redacted]/ HTTP/1.1" 410' in lines[1]
    assert "/portal/xero/callback?code=[redacted]&state=[redacted]&scope=bankfeeds" in lines[2]
    assert '"https://bankfeeds.example/portal/link/[redacted]/?code=[redacted]"' in lines[3]


def wait_for_lines(log: Path, count: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        # The first line may be the start-up poll of /healthz.
        lines = [line for line in text.splitlines() if "/healthz HTTP" not in line or "bankfeeds.example" in line]
        if len(lines) >= count:
            return "\n".join(lines)
        time.sleep(0.1)
    raise AssertionError(log.read_text() if log.exists() else "no access log")
