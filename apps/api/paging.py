"""Codat's paging: `page`, `pageSize` and the `{results, pageNumber, pageSize,
totalResults, _links}` envelope.

Codat documents (and its spec's `pageSize` parameter allows) up to 5000 a page, while its
answer's schema caps `pageSize` at 2000: a request for more is served in pages of 2000,
and the answer's `pageSize` and `_links` say so."""

import re
from urllib.parse import urlencode

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from apps.core.refusals import Refused
from apps.core.refusals import item as validation_item

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000  # what a request may ask for; more is a 400 naming pageSize
PAGE_SIZE_CAP = 2000  # what a page holds at most
# ASCII digits only, as the spec's integer (int() would also take "١", "1_0" and " 5").
_DIGITS = re.compile(r"[0-9]{1,9}")


def _positive_int(request, name, default, maximum=None):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else 0
    if value < 1 or (maximum and value > maximum):
        limit = f" and at most {maximum}" if maximum else ""
        raise Refused(
            "The request made is not valid.",
            errors=[validation_item(f"{name} must be a whole number from 1{limit}.", item_id=name)],
        )
    return value


class CodatPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_number = _positive_int(request, "page", 1)
        self.page_size = min(_positive_int(request, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), PAGE_SIZE_CAP)
        self.total = queryset.count()
        start = (self.page_number - 1) * self.page_size
        # Past the last page is an empty page, not an error, as with Codat.
        return list(queryset[start : start + self.page_size]) if start < self.total else []

    def _href(self, page):
        params = {k: v for k, v in self.request.query_params.items() if k not in ("page", "pageSize")}
        params.update(page=page, pageSize=self.page_size)
        return {"href": f"{self.request.path}?{urlencode(params)}"}

    def get_paginated_response(self, data):
        links = {"self": {"href": self.request.path}, "current": self._href(self.page_number)}
        if self.page_number * self.page_size < self.total:
            links["next"] = self._href(self.page_number + 1)
        if self.page_number > 1:
            links["previous"] = self._href(self.page_number - 1)
        return Response(
            {
                "results": data,
                "pageNumber": self.page_number,
                "pageSize": self.page_size,
                "totalResults": self.total,
                "_links": links,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "object", "properties": {"href": {"type": "string", "format": "uri-reference"}}}
        return {
            "type": "object",
            "required": ["pageNumber", "pageSize", "totalResults", "_links"],
            "properties": {
                "results": schema,
                "pageNumber": {"type": "integer"},
                "pageSize": {"type": "integer", "maximum": PAGE_SIZE_CAP,
                             "description": f"Records a page holds: as asked, at most {PAGE_SIZE_CAP}."},
                "totalResults": {"type": "integer"},
                "_links": {
                    "type": "object",
                    "required": ["self", "current"],
                    "properties": {k: link for k in ("self", "current", "next", "previous")},
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "pageSize", "in": "query", "required": False,
             "description": f"Records per page; up to {MAX_PAGE_SIZE} may be asked for, a page holds at most "
                            f"{PAGE_SIZE_CAP} (the answer's pageSize says how many).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}},
        ]
