"""The partner API's edge: requests refused before any view, parser or key claim runs, so
a refusal here writes nothing.

- A body over DATA_UPLOAD_MAX_MEMORY_SIZE bytes (by its Content-Length): never read.
- A NUL character in the path or the query string: path ids and query values are looked
  up in PostgreSQL, whose text cannot hold NUL (`.../bankFeedAccounts/a%00b` or
  `?query=name=%00` would be a 500).
- A path id longer than MAX_ID_LENGTH: no id of ours or of a partner's is (they are
  varchar(255) columns).

And on the way out, ReleaseCyclesMiddleware unties what DRF ties together."""

from django.conf import settings
from django.http import JsonResponse

from apps.core.middleware import is_api

from .errors import error_body
from .parsers import NUL

MAX_ID_LENGTH = 255
BODY_TOO_LARGE = "The request body is {size} bytes; at most {limit} bytes are accepted."
PATH_HAS_NUL = "The request path and query may not contain the NUL character."
ID_TOO_LONG = "{name} may be at most {limit} characters long."


def _refuse(message):
    return JsonResponse(error_body(400, message), status=400)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ApiEdgeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):
            size, limit = _content_length(request), settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and size > limit:
                return _refuse(BODY_TOO_LARGE.format(size=size, limit=limit))
            if NUL in request.path_info or any(
                NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists()
            ):
                return _refuse(PATH_HAS_NUL)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_api(request):
            return None
        for name, value in view_kwargs.items():
            if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
                return _refuse(ID_TOO_LONG.format(name=_camel(name), limit=MAX_ID_LENGTH))
        return None


class ReleaseCyclesMiddleware:
    """Leaves an answered DRF request to reference counting. DRF's renderer context holds the
    response that holds it, and its parser context the request that holds it, both with the
    view: every request's objects (a push's transactions among them) waited for Python's
    cycle collector, whose passes took ~5 % of the API's CPU under load (docs/PERFORMANCE.md,
    round 8). By the time the response comes back here Django has rendered it, and nothing
    reads either context after that."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if context:
            drf_request = context.get("request")
            if drf_request is not None and drf_request.parser_context:
                drf_request.parser_context.clear()
            context.clear()
        return response


def _camel(name: str) -> str:
    """`account_id` as the partner's documentation names it: accountId."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
