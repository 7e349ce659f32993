"""`Idempotency-Key` on the partner API's POST and PATCH operations.

Same key and same request (method, path, body) replays the first answer; the same key
with another request is a 422; a retry while the first is still running is a 409.
Answers of 5xx are not kept, so a retry after a server fault runs again. Keys are kept
for 24 hours per partner.
"""

import hashlib
from datetime import timedelta
from functools import wraps

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from apps.core.refusals import Refused

from .models import IdempotencyRecord
from .renderers import CodatJSONRenderer

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _caller(request) -> str:
    """Whose keys these are: the authenticated caller (a partner), by primary key."""
    return str(request.user.pk)


def _claim(caller, key, fingerprint):
    """The completed record to replay, or None once this request owns the key."""
    IdempotencyRecord.objects.filter(caller=caller, key=key, created__lt=timezone.now() - KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(caller=caller, key=key, fingerprint=fingerprint)
            return None
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
    if record is None:  # deleted in between: the first request failed with a 5xx
        return _claim(caller, key, fingerprint)
    if record.fingerprint != fingerprint:
        raise Refused(
            "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
            status=422,
            can_be_retried=False,
        )
    if not record.completed:
        raise Refused(
            "A request with this Idempotency-Key is still being processed. Retry shortly.",
            status=409,
            can_be_retried=True,
            retry_after=1,
        )
    return record


def idempotent(handler):
    """Decorate an APIView's post/patch method to honour Idempotency-Key."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise Refused(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.")
        if "\x00" in key:  # PostgreSQL text cannot hold it: a 400 here, not a 500 in _claim
            raise Refused("Idempotency-Key may not contain the NUL character.")
        body = request._request.body  # read before DRF parses, so the raw bytes stay available
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), body])).hexdigest()
        record = _claim(_caller(request), key, fingerprint)
        if record is not None:
            data = orjson.loads(bytes(record.response_body)) if record.response_body else None
            response = Response(data, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the error answer is the one to keep
            response = view.handle_exception(exc)
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(caller=_caller(request), key=key).delete()
        else:
            rendered = CodatJSONRenderer().render(response.data) if response.data is not None else None
            IdempotencyRecord.objects.filter(caller=_caller(request), key=key).update(
                completed=True, response_status=response.status_code, response_body=rendered
            )
        return response

    return wrapper
