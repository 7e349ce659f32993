"""Every partner API answer the test suite provokes, kept for checks that look at all of
them at once: recorded by a middleware the test settings add, whichever client made the
request (Django's test client, the live server, Codat's SDK)."""

import json
import os
import threading

_lock = threading.Lock()
RECORDED: list[dict] = []


class RecordingMiddleware:
    """Outermost middleware in tests: notes each /api/ request and its answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and not request.path.startswith(("/api/schema", "/api/docs")):
            content = b"" if getattr(response, "streaming", False) else response.content
            entry = {
                "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
                "method": request.method,
                "path": request.path,
                "route": getattr(request.resolver_match, "route", None),
                "status": response.status_code,
                "content_type": response.get("Content-Type", ""),
                "body": content.decode("utf-8", "replace"),
            }
            with _lock:
                RECORDED.append(entry)
        return response


def dump(path: str) -> None:
    with open(path, "w") as out:
        for entry in RECORDED:
            out.write(json.dumps(entry) + "\n")
