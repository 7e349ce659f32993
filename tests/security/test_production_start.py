"""Production from a fresh clone: the Procfile's release step, then its web process (real
gunicorn, DEBUG=0, production keys), serve the portal's sign-in, admin and the API docs
with their static files. Before, those pages were 500s ("Missing staticfiles manifest
entry") until someone ran collectstatic by hand. Issue #13, point 17."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.processes import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
HOST = "bankfeeds.example"
# What the reverse proxy in front of gunicorn adds: production redirects plain HTTP.
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}


def procfile(process: str) -> str:
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    return lines[process]


def clean_copy(target: Path) -> Path:
    """The checkout's tracked files only (what a clone has: no var/, no collected static)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """A clean copy released and served as production; yields its base URL."""
    checkout = clean_copy(tmp_path_factory.mktemp("clone"))
    assert not (checkout / "var").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XERO_", "DJANGO_"))}
    env.update(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS=HOST, SITE_URL=f"https://{HOST}", XERO_CLIENT_ID="real-client-id",
        XERO_CLIENT_SECRET=secrets.token_urlsafe(24), WEB_CONCURRENCY="1",
        DATABASE_URL=f"sqlite:///{checkout / 'production.sqlite3'}",
        # `python` in the Procfile is this test's interpreter (the project's venv).
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("REDIS_URL", None)
    release = subprocess.run(procfile("release"), shell=True, cwd=checkout, env=env, capture_output=True,  # noqa: S602
                             text=True, timeout=300)
    assert release.returncode == 0, release.stdout + release.stderr
    port = free_port()
    web = subprocess.Popen(f"{procfile('web')} --bind 127.0.0.1:{port}", shell=True, cwd=checkout, env=env,  # noqa: S602
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, web, headers=PROXIED)
        yield base
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)


@pytest.mark.parametrize("page", ["/portal/accounts/login/", "/admin/login/", "/api/docs/"])
def test_production_serves_its_pages_with_their_static_files(production, page):
    response = requests.get(f"{production}{page}", headers=PROXIED, timeout=10)
    assert response.status_code == 200, response.text[:2000]
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', response.text)
    assert assets, response.text[:2000]
    for asset in assets:
        # Hashed names from the manifest, served by whitenoise with a far-future cache.
        assert re.search(r"\.[0-9a-f]{12}\.", asset), asset
        static = requests.get(f"{production}{asset}", headers=PROXIED, timeout=10)
        assert static.status_code == 200, asset
        assert "immutable" in static.headers.get("Cache-Control", ""), asset


def test_production_redirects_plain_http_to_https(production):
    response = requests.get(f"{production}/portal/accounts/login/", headers={"Host": HOST}, allow_redirects=False,
                            timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/portal/accounts/login/"
