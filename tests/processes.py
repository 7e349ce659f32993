"""What a test gives a process it starts (a gunicorn, a relay, a script) to share its database."""

import socket
import time

import requests
from django.db import connection


def database_url() -> str:
    """The URL of the test's own PostgreSQL database (DATABASE_URL for the child process)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    """A loopback port no one listens on now, for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, server, *, headers=None, seconds: float = 30) -> None:
    """Return once the server at `base` answers /healthz; fail with its stderr if it exits,
    or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(f"{base}/healthz", headers=headers, timeout=2)
            return
        # Still starting: refused, or taken and not yet answered (the first request loads the app).
        except (requests.ConnectionError, requests.Timeout):
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
