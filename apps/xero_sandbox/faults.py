"""Fault injection: make the next N calls to a sandbox path misbehave.

A fault matches a call when the call's path below ``/xero-sandbox/`` starts with the
fault's ``operation`` (case-insensitive, e.g. ``bankfeeds.xro/1.0/Statements`` or
``connect/token``) and, if set, the HTTP method. Faults live in the database so they
work across the server's threads and processes; each matching call consumes one.

Modes:
- ``status``: answer ``status`` at once without processing, with a body in the shape of
  that API (Bank Feeds problem+json ``internal-error`` / ``invalid-request``, Xero's
  platform problem elsewhere, OAuth ``server_error`` on connect/*); a 429 carries
  ``Retry-After`` (``retry_after``) and ``X-Rate-Limit-Problem: minute``.
- ``hang``: sleep ``seconds`` without processing, then answer like ``status`` (the client
  should have timed out by then; nothing was written).
- ``drop_after_commit``: process the call fully (its writes are committed, since every
  write runs in its own transaction), then shut the TCP socket down without sending a
  byte, so ``requests`` raises ``ConnectionError``. Under Django's runserver/live server
  and gunicorn the socket is found in the WSGI environ; if it cannot be found the server
  instead sleeps ``seconds`` (default 35) before answering, past the client's timeout.
- ``invalid_grant``: on ``connect/token``, answer ``{"error": "invalid_grant"}`` (400)
  without touching any token, as when a user revoked access in Xero.
"""

import socket
import time

from django.db import transaction
from django.db.models import Exists, F

from . import problems
from .models import Fault


def add_fault(
    operation: str,
    *,
    method: str | None = None,
    mode: str = Fault.STATUS,
    status: int = 500,
    count: int = 1,
    seconds: float = 0,
    retry_after: int = 1,
) -> Fault:
    """Register a fault for the next `count` matching calls."""
    if mode not in dict(Fault.MODES):
        raise ValueError(f"unknown fault mode {mode!r}")
    return Fault.objects.create(
        operation=operation.strip("/"),
        method=(method or "").upper(),
        mode=mode,
        status=status,
        remaining=count,
        seconds=seconds,
        retry_after=retry_after,
    )


def clear_faults() -> int:
    """Remove every fault; returns how many there were."""
    count, _ = Fault.objects.all().delete()
    return count


def active_faults() -> list[Fault]:
    """Faults with calls left to spoil."""
    return list(Fault.objects.filter(remaining__gt=0))


def pending() -> Exists:
    """True while any fault has calls left to spoil: the API gateway asks this inside the
    query that authenticates the call, so a call without faults costs no query of its own."""
    return Exists(Fault.objects.filter(remaining__gt=0))


def claim_fault(path: str, method: str) -> Fault | None:
    """Consume one use of the oldest fault matching this call, if any."""
    path = path.strip("/").lower()
    for fault in Fault.objects.filter(remaining__gt=0).order_by("created_at", "pk"):
        if not path.startswith(fault.operation.lower()):
            continue
        if fault.method and fault.method != method.upper():
            continue
        # A conditional update claims the use atomically across threads.
        with transaction.atomic():
            claimed = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
                remaining=F("remaining") - 1, hits=F("hits") + 1
            )
        if claimed:
            return fault
    return None


def fault_response(fault: Fault, path: str):
    """The answer for a `status` (or finished `hang`) fault."""
    path = path.strip("/").lower()
    status = fault.status
    if fault.mode == Fault.INVALID_GRANT:
        return problems.oauth_error("invalid_grant")
    if path.startswith("connect/"):
        response = problems.oauth_error("server_error" if status >= 500 else "invalid_request", status)
    elif path.startswith("bankfeeds.xro") and status != 429:
        kind = "internal-error" if status >= 500 else "invalid-request"
        response = problems.problem(kind, "Injected by the sandbox fault control.", status)
    else:
        title = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Error")
        response = problems.platform_problem(status, title, "Injected by the sandbox fault control.")
    if status == 429:
        response["Retry-After"] = str(fault.retry_after)
        response["X-Rate-Limit-Problem"] = "minute"
    return response


def _find_socket(environ) -> socket.socket | None:
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return sock
    # Django's dev/live server: LimitedStream (keeps only its stream's bound read) ->
    # BufferedReader -> SocketIO -> socket.
    obj = environ.get("wsgi.input")
    for _ in range(8):
        if obj is None or isinstance(obj, socket.socket):
            return obj
        read = getattr(obj, "_read", None)
        obj = getattr(read, "__self__", None) or getattr(obj, "raw", None) or getattr(obj, "_sock", None)
    return None


def drop_connection(request, fallback_seconds: float) -> None:
    """Close the client's connection without an answer (see module docstring)."""
    sock = _find_socket(request.META)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
            return
        except OSError:
            pass
    time.sleep(fallback_seconds or 35)


def apply(request, path: str, view, *args, **kwargs):
    """Run `view` under whatever fault matches this call."""
    fault = claim_fault(path, request.method)
    if fault is None:
        return view(request, *args, **kwargs)
    if fault.mode == Fault.HANG:
        time.sleep(fault.seconds)
        return fault_response(fault, path)
    if fault.mode == Fault.DROP_AFTER_COMMIT:
        response = view(request, *args, **kwargs)
        drop_connection(request, fault.seconds)
        return response
    return fault_response(fault, path)
