"""`Idempotency-Key` on the partner API's POST and PATCH operations.

Same key and same request (method, path, body) replays the first answer; the same key
with another request is a 422; a retry while the first is still running is a 409.
Only final answers are kept: 2xx, and 4xx a resend cannot change. An answer that asks
for a retry (429, 5xx, or any saying canBeRetried) is not, so the retry runs again. A
body that cannot be read is refused before the key is claimed: nothing is kept for it.
Keys are kept for 24 hours per partner. A claim whose request never finished (its worker
killed, the machine restarted) is given to the next retry after CLAIM_LIFETIME, so a
partner retrying with the same key is not refused with 409 for a day; what the request
protects against doing twice (a push reaching Xero twice) is guarded where it is done.
"""

import hashlib
import json
import re
from datetime import timedelta
from decimal import Decimal
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from apps.core.refusals import Refused

from .models import IdempotencyRecord
from .renderers import CodatJSONRenderer

KEY_LIFETIME = timedelta(hours=24)
# Far longer than a live request runs (a push makes at most a few Xero calls, each within
# XERO_TIMEOUT_SECONDS), so only an abandoned claim is taken over.
CLAIM_LIFETIME = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
# A header value a key can be written in by any client, and stored as sent.
_KEY = re.compile(r"[\x21-\x7e]+")
KEY_INVALID = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, without spaces."


def _caller(request) -> str:
    """Whose keys these are: the authenticated caller (a partner), by primary key."""
    return str(request.user.pk)


def _claim(caller, key, fingerprint) -> IdempotencyRecord:
    """The record of this key: completed, to replay; else this request's claim on it."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(caller=caller, key=key, created__lt=now - KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(caller=caller, key=key, fingerprint=fingerprint)
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
    if record.completed:
        return record
    if record.created < now - CLAIM_LIFETIME:
        # Abandoned: taken over by this retry, unless another retry or the request itself
        # got there first (then read the key again).
        taken = IdempotencyRecord.objects.filter(pk=record.pk, created=record.created, completed=False)
        if taken.update(created=now):
            record.created = now
            return record
        return _claim(caller, key, fingerprint)
    raise Refused(
        "A request with this Idempotency-Key is still being processed. Retry shortly.",
        status=409,
        can_be_retried=True,
        retry_after=1,
    )


def _final(response) -> bool:
    """Whether a resend could get another answer: not when it is a 2xx or a 4xx that
    does not ask for a retry."""
    if response.status_code >= 500 or response.status_code == 429:
        return False
    data = response.data
    return not (isinstance(data, dict) and data.get("canBeRetried") == "True")


def idempotent(handler):
    """Decorate an APIView's post/patch method to honour Idempotency-Key."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
            raise Refused(KEY_INVALID)
        body = request._request.body  # read before DRF parses, so the raw bytes stay available
        request.data  # noqa: B018 - parsed now: a body that cannot be read claims no key
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), body])).hexdigest()
        record = _claim(_caller(request), key, fingerprint)
        if record.completed:
            # Numbers as exact as they were answered.
            data = json.loads(bytes(record.response_body), parse_float=Decimal) if record.response_body else None
            response = Response(data, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the error answer is the one to keep
            response = view.handle_exception(exc)
        # Only while the claim is still this request's (a retry may have taken it over).
        claim = IdempotencyRecord.objects.filter(pk=record.pk, created=record.created, completed=False)
        if not _final(response):
            claim.delete()
        else:
            rendered = CodatJSONRenderer().render(response.data) if response.data is not None else None
            claim.update(completed=True, response_status=response.status_code, response_body=rendered)
        return response

    wrapper.honours_idempotency_key = True  # read by schema.CodatAutoSchema
    return wrapper
