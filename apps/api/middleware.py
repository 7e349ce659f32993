"""Refuses partner API requests whose path or query string carries a NUL character.

Path ids and query values are looked up in PostgreSQL, whose text cannot hold NUL:
without this, `.../bankFeedAccounts/a%00b` or `?query=name=%00` is a 500."""

from django.http import JsonResponse

from .errors import error_body
from .parsers import NUL


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/") and (
            NUL in request.path_info
            or any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists())
        ):
            return JsonResponse(error_body(400, "The request path and query may not contain the NUL character."),
                                status=400)
        return self.get_response(request)
