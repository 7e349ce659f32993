"""Error bodies in the shapes Xero uses.

- Bank Feeds: RFC 7807 ``application/problem+json`` with lower-case ``type``, ``title``,
  ``status``, ``detail``; ``type`` is always one of the spec's Error.type enum values.
  Xero's documents mention ``item-count-exceeded`` and ``invalid-statement-date``, but the
  spec enum does not, so the sandbox answers those cases with ``invalid-request``.
- Platform (token / tenant checks, any API): Xero's capitalised problem, e.g.
  ``{"Type": null, "Title": "Unauthorized", "Status": 401, "Detail":
  "AuthenticationUnsuccessful", "Instance": "<uuid>", "Extensions": {}}``; a tenant not
  connected to the token answers 403 ``Forbidden`` with the same Detail (as Xero's
  troubleshooting page shows); a missing scope answers 403 ``AuthorizationUnsuccessful``.
- OAuth2 token endpoint: ``{"error": "invalid_grant"}`` and friends (RFC 6749).
"""

import json
import uuid
from decimal import Decimal

from django.http import HttpResponse

TITLES = {
    "invalid-request": "Invalid Request",
    "invalid-application": "Invalid Application",
    "invalid-feed-connection": "Invalid Feed Connection",
    "duplicate-statement": "Duplicate Statement Received",
    "invalid-end-balance": "Invalid End Balance",
    "invalid-start-and-end-date": "Invalid Start and End Date",
    "invalid-start-date": "Invalid Start Date",
    "internal-error": "Intermittent Internal Xero Error",
    "feed-already-connected-in-current-organisation": "Feed already connected in current organisation",
    "invalid-end-date": "Invalid End Date",
    "statement-not-found": "Statement Not Found",
    "feed-connected-in-different-organisation": "Feed connected in different organisation",
    "feed-already-connected-in-different-organisation": "Feed already connected in different organisation",
    "bank-feed-not-found": "Bank Feed Not Found",
    "invalid-country-specified": "Invalid Country Specified",
    "invalid-organisation-bank-feeds": "Invalid Organisation Bank Feeds",
    "invalid-organisation-multi-currency": "Invalid Organisation Multi Currency",
    "invalid-feed-connection-for-organisation": "Invalid Feed Connection for Organisation",
    "invalid-user-role": "Invalid User Role",
    "account-not-valid": "Account Not Valid",
    "feed-not-found-or-already-deleted": "Feed Not Found or Already Deleted",
}


class _Encoder(json.JSONEncoder):
    """Decimals become JSON numbers, as the spec types money as number/double."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        if isinstance(o, uuid.UUID):
            return str(o)
        return super().default(o)


def dumps(data) -> str:
    """Serialise a response body."""
    return json.dumps(data, cls=_Encoder, separators=(",", ":"))


def json_response(data, status: int = 200, content_type: str = "application/json") -> HttpResponse:
    """A JSON answer with an explicit content type (problem+json for errors)."""
    return HttpResponse(dumps(data), status=status, content_type=content_type)


def error_item(type_: str, detail: str, status: int) -> dict:
    """A Bank Feeds Error object (used alone or inside rejected items)."""
    return {"type": type_, "title": TITLES[type_], "status": status, "detail": detail[:255]}


def problem(type_: str, detail: str, status: int) -> HttpResponse:
    """A Bank Feeds problem+json response."""
    return json_response(error_item(type_, detail, status), status, "application/problem+json")


def platform_problem(status: int, title: str, detail: str) -> HttpResponse:
    """Xero's platform-level problem (capitalised keys)."""
    body = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_response(body, status, "application/problem+json")


def unauthorized() -> HttpResponse:
    """Missing, unknown, expired or revoked access token."""
    response = platform_problem(401, "Unauthorized", "AuthenticationUnsuccessful")
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def oauth_error(error: str, status: int = 400, description: str = "") -> HttpResponse:
    """An RFC 6749 error from the token or revocation endpoint."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = json_response(body, status)
    response["Cache-Control"] = "no-store"
    return response


class Problem(Exception):
    """Raised inside Bank Feeds processing; turned into a problem+json response."""

    def __init__(self, type_: str, detail: str, status: int = 400):
        super().__init__(detail)
        self.type, self.detail, self.status = type_, detail, status

    def response(self) -> HttpResponse:
        """The problem+json answer."""
        return problem(self.type, self.detail, self.status)
