"""What a test gives a process it starts (a gunicorn, a relay, a script) to share its database."""

from django.db import connection


def database_url() -> str:
    """The URL of the test's own PostgreSQL database (DATABASE_URL for the child process)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
