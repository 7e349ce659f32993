"""Every partner API error, whatever its cause, as Codat's `ErrorMessage` body: the one
exception handler, fed by Refused (raised by services and by this kit) and by the
exceptions other apps register a translation for."""

import logging
import uuid
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.core.redis import CACHE_UNREACHABLE
from apps.core.refusals import Refused
from apps.core.refusals import item as validation_item

logger = logging.getLogger(__name__)

SERVICE = "PublicApi"
SERVICE_UNAVAILABLE = "The service is briefly unavailable (a dependency is not answering). Please retry shortly."
# Seconds a partner is asked to wait before retrying a dependency outage.
UNAVAILABLE_RETRY_AFTER = 5
BODY_TOO_LARGE = "The request body is larger than this server accepts."
BAD_REQUEST = "The request could not be understood (a malformed request line, header or host)."


# Exceptions of layers above this kit (Xero's, say) that the API answers as a Refused:
# registered by their app at start-up (translate), so this kit imports none of them.
_TRANSLATIONS: dict[type, Callable[[Exception], Refused]] = {}


def translate(exc_type: type):
    """Register `fn(exc) -> Refused` as the partner API's answer to `exc_type` (and its
    subclasses without a translation of their own)."""

    def register(fn):
        _TRANSLATIONS[exc_type] = fn
        return fn

    return register


def _cache_unreachable(exc):
    # The shared cache holds the push locks and the Xero rate limits: without it nothing
    # that needs them can run, and a retry once it is back can.
    return Refused(SERVICE_UNAVAILABLE, status=503, can_be_retried=True, retry_after=UNAVAILABLE_RETRY_AFTER)


for _unreachable in CACHE_UNREACHABLE:
    translate(_unreachable)(_cache_unreachable)


@translate(RequestDataTooBig)
def _body_too_large(exc):
    return Refused(BODY_TOO_LARGE, can_be_retried=False)


def _translated(exc) -> Refused | None:
    for cls in type(exc).__mro__:
        if cls in _TRANSLATIONS:
            return _TRANSLATIONS[cls](exc)
    return None


def error_body(status_code, message, *, errors=None, warnings=None, can_be_retried=None, correlation_id=None):
    """Codat's ErrorMessage. canBeRetried is a string in Codat's schema."""
    if can_be_retried is None:
        can_be_retried = status_code == 429 or status_code >= 500
    body = {
        "statusCode": status_code,
        "service": SERVICE,
        "error": str(message),
        "correlationId": correlation_id or uuid.uuid4().hex,
        "canBeRetried": "True" if can_be_retried else "False",
        "detailedErrorCode": 0,
    }
    if errors or warnings:
        body["validation"] = {"errors": errors or [], "warnings": warnings or []}
    return body


def validation_items(detail, prefix=""):
    """DRF's nested validation errors as Codat validation items named by field path."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = field if field != "non_field_errors" else ""
            yield from validation_items(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(detail, list):
        if detail and all(isinstance(d, (dict, list)) for d in detail):
            for index, value in enumerate(detail):
                if value:
                    yield from validation_items(value, f"{prefix}[{index}]")
        else:
            for message in detail:
                yield validation_item(message, item_id=prefix or None, validator=getattr(message, "code", None))
    else:
        yield validation_item(detail, item_id=prefix or None, validator=getattr(detail, "code", None))


def codat_exception_handler(exc, context):
    """DRF exception handler: maps every exception, expected or not, to an ErrorMessage."""
    headers = {}
    errors = warnings = None
    can_be_retried = correlation_id = None
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    exc = _translated(exc) or exc

    if isinstance(exc, Refused):
        code, message = exc.status, exc.message
        errors, warnings, can_be_retried = exc.errors, exc.warnings, exc.can_be_retried
        correlation_id = exc.correlation_id
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, exceptions.ValidationError):
        code, message = 400, "The request made is not valid."
        errors = list(validation_items(exc.detail))
    elif isinstance(exc, exceptions.ParseError):
        code, message = 400, f"The request body could not be parsed: {exc.detail}"
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        code, message = 400, "The request body must be JSON (Content-Type: application/json)."
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        code, message = 401, "Unauthorized"
        headers["WWW-Authenticate"] = 'Basic realm="api"'
    elif isinstance(exc, exceptions.Throttled):
        code, message = 429, "You have made too many requests in a given amount of time; please retry later."
        if exc.wait:
            headers["Retry-After"] = str(int(exc.wait) + 1)
    elif isinstance(exc, exceptions.APIException):
        code, message = exc.status_code, exc.detail
        if isinstance(message, (list, dict)):
            message = str(message)
    else:
        correlation_id = uuid.uuid4().hex
        logger.exception("Unhandled error in partner API (correlationId=%s)", correlation_id)
        set_rollback()
        body = error_body(500, "There is a problem with our server. Please try again later.",
                          correlation_id=correlation_id)
        return Response(body, status=500)

    set_rollback()
    body = error_body(code, message, errors=errors, warnings=warnings, can_be_retried=can_be_retried,
                      correlation_id=correlation_id)
    return Response(body, status=code, headers=headers)


def _json_error(request, code, message):
    return JsonResponse(error_body(code, message), status=code)


def api_bad_request(request, exception=None):
    """Django's own 400s under /api/ (a Host not in ALLOWED_HOSTS, say)."""
    return _json_error(request, status.HTTP_400_BAD_REQUEST, BAD_REQUEST)


def api_not_found(request, exception=None):
    return _json_error(request, status.HTTP_404_NOT_FOUND, "The resource you referenced could not be found.")


def api_server_error(request):
    return _json_error(request, 500, "There is a problem with our server. Please try again later.")
