"""The two commands a newcomer runs: `make demo` takes a port (SITE_URL follows), and
`make test` first makes sure of what a fresh machine lacks; CI goes through `make test`."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*args) -> str:
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True,  # noqa: S607
                          env={"PATH": "/usr/bin:/bin", "PYTHON": "python3"}).stdout


def test_make_demo_takes_a_port_and_the_site_url_follows():
    out = dry_run("demo", "PORT=8100")
    assert "SITE_URL=http://127.0.0.1:8100 .venv/bin/python manage.py demo_seed" in out
    assert "SITE_URL=http://127.0.0.1:8100 .venv/bin/python manage.py demo_serve" in out


def test_make_test_installs_and_starts_what_is_missing_then_runs_the_suite():
    out = dry_run("test").splitlines()
    services = out.index(".ci/services")
    assert any("pytest -q" in line for line in out[services:])
    script = (ROOT / ".ci/services").read_text()
    assert "apt-get install" in script and "chromium" in script
    assert "pg_ctlcluster" in script and "redis-server --daemonize yes" in script
    assert (ROOT / ".ci/run").read_text().strip().endswith("make test")
