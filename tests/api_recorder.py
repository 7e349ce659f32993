"""Every partner API answer the test suite provokes, kept for checks that look at all of
them at once: recorded by a middleware the test settings add, whichever client made the
request (Django's test client, the live server, Codat's SDK). When the suite runs in several
pytest processes (`make test`), each writes its answers to API_ANSWERS_DIR at its end, and
the checks run afterwards read them all (`recorded`)."""

import json
import os
import threading
from pathlib import Path

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


def save_to_answers_dir() -> None:
    """This process's answers into API_ANSWERS_DIR (if set), a file of its own."""
    directory = os.environ.get("API_ANSWERS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        dump(str(Path(directory) / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.jsonl"))


def recorded() -> list[dict]:
    """Every answer recorded: this process's and those saved to API_ANSWERS_DIR."""
    entries = list(RECORDED)
    directory = os.environ.get("API_ANSWERS_DIR")
    if directory and Path(directory).is_dir():
        for saved in sorted(Path(directory).glob("*.jsonl")):
            entries += [json.loads(line) for line in saved.read_text().splitlines() if line]
    return entries
