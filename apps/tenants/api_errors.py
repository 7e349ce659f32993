"""Every partner API error, whatever its cause, as Codat's `ErrorMessage` body."""

import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

SERVICE = "PublicApi"


class ApiError(exceptions.APIException):
    """A refusal with Codat's body: a status, a message and optional validation items."""

    def __init__(self, message, *, status_code=400, errors=None, warnings=None, can_be_retried=None, headers=None,
                 correlation_id=None):
        super().__init__(message)
        self.status_code = status_code
        self.correlation_id = correlation_id
        self.errors = errors or []
        self.warnings = warnings or []
        self.can_be_retried = can_be_retried
        self.headers = headers or {}


def validation_item(message, *, item_id=None, validator=None):
    return {"itemId": item_id, "message": str(message), "validatorName": validator}


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


def _flatten(detail, prefix=""):
    """DRF's nested validation errors as Codat validation items named by field path."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = field if field != "non_field_errors" else ""
            yield from _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(detail, list):
        if detail and all(isinstance(d, (dict, list)) for d in detail):
            for index, value in enumerate(detail):
                if value:
                    yield from _flatten(value, f"{prefix}[{index}]")
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

    if isinstance(exc, ApiError):
        code, message = exc.status_code, exc.detail
        errors, warnings, can_be_retried = exc.errors, exc.warnings, exc.can_be_retried
        correlation_id = exc.correlation_id
        headers.update(exc.headers)
    elif isinstance(exc, exceptions.ValidationError):
        code, message = 400, "The request made is not valid."
        errors = list(_flatten(exc.detail))
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


def api_not_found(request, exception=None):
    return _json_error(request, status.HTTP_404_NOT_FOUND, "The resource you referenced could not be found.")


def api_server_error(request):
    return _json_error(request, 500, "There is a problem with our server. Please try again later.")
