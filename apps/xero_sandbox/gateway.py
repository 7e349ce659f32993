"""What every sandbox API call goes through before its view: fault injection, bearer
authentication, the Xero-Tenant-Id check, scopes, rate limits and the request-size limit.

Order (stricter choices where Xero is silent): faults, then 401 for a missing, unknown,
expired or revoked access token, then 403 ``Forbidden``/``AuthenticationUnsuccessful``
for a missing or unconnected Xero-Tenant-Id, then 403 for a missing scope (Bank Feeds:
problem ``invalid-application``; Accounting: ``AuthorizationUnsuccessful``), then rate
limits (429), then 413 for bodies over 3,000,000 bytes. Auth failures carry no rate
limit headers because Xero only counts calls it can attribute to a tenant.

A call with a good token for a connected tenant costs one query before its view: the
connection of the token's grant to that tenant, with grant, app, organisation, the
token's validity and whether any fault is pending. Anything else (no such connection, or
a fault pending) goes the long way, which gives the same answers with more queries.
"""

import functools
import uuid
from dataclasses import dataclass

from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import faults, problems, ratelimit
from .models import AccessToken, Connection, Grant, Organisation, SandboxApp

MAX_BODY_BYTES = 3_000_000
SANDBOX_PREFIX = "/xero-sandbox/"


@dataclass
class CallContext:
    """Who is calling and for which tenant."""

    grant: Grant
    app: SandboxApp
    organisation: Organisation | None
    body: bytes = b""


def sandbox_path(request) -> str:
    """The request path below /xero-sandbox/ (what faults match against)."""
    return request.path.split(SANDBOX_PREFIX, 1)[-1]


def faultable(view):
    """Let the fault control spoil calls to this view; exempt it from CSRF."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return faults.apply(request, sandbox_path(request), view, *args, **kwargs)

    return csrf_exempt(wrapper)


def _bearer_token(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_grant(request) -> Grant | None:
    """The grant behind a usable bearer token, or None."""
    token = _bearer_token(request)
    if token is None:
        return None
    found = AccessToken.objects.select_related("grant__app").filter(token=token).first()
    if found is None or not found.is_usable(timezone.now()):
        return None
    return found.grant


def _tenant_connection(request) -> Connection | None:
    """In one query, the connection between the bearer token's grant and the
    Xero-Tenant-Id organisation, annotated with the token's expiry and revocation and
    whether a fault is pending; None when the token or the tenant does not match."""
    token = _bearer_token(request)
    tenant = _as_uuid(request.headers.get("Xero-Tenant-Id", "").strip())
    if token is None or tenant is None:
        return None
    return (
        Connection.objects.select_related("grant__app", "organisation")
        .filter(grant__access_tokens__token=token, organisation__tenant_id=tenant)
        .annotate(
            token_expires_at=F("grant__access_tokens__expires_at"),
            token_revoked_at=F("grant__access_tokens__revoked_at"),
            faults_pending=faults.pending(),
        )
        .first()
    )


def _caller(request, connection: Connection | None) -> tuple[Grant, Organisation] | HttpResponse:
    """(grant, organisation) of a call, or the 401/403 answer."""
    if connection is not None:
        token = AccessToken(
            grant=connection.grant, expires_at=connection.token_expires_at, revoked_at=connection.token_revoked_at
        )
        if not token.is_usable(timezone.now()):
            return problems.unauthorized()
        return connection.grant, connection.organisation
    grant = bearer_grant(request)
    if grant is None:
        return problems.unauthorized()
    tenant = _as_uuid(request.headers.get("Xero-Tenant-Id", "").strip())
    organisation = Organisation.objects.filter(tenant_id=tenant, connections__grant=grant).first() if tenant else None
    if organisation is None:
        return problems.platform_problem(403, "Forbidden", "AuthenticationUnsuccessful")
    return grant, organisation


def _read_body(request) -> bytes | None:
    """The raw body, or None when it is over the limit (read directly from the stream,
    because request.body refuses anything above DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    data = request.read(MAX_BODY_BYTES + 1)
    return None if len(data) > MAX_BODY_BYTES else data


def xero_api(*, api: str, statements: bool = False):
    """Decorate a tenant-scoped API view taking (request, ctx, ...). api: bankfeeds|accounting."""

    def decorate(view):
        def guarded(request, connection, *args, **kwargs):
            caller = _caller(request, connection)
            if not isinstance(caller, tuple):
                return caller
            grant, organisation = caller
            scopes = grant.scope_set()
            if api == "bankfeeds" and not ("bankfeeds" in scopes and grant.app.bankfeeds):
                return problems.problem(
                    "invalid-application",
                    "The application has not been configured to use these API endpoints.",
                    403,
                )
            if api == "accounting" and not scopes & {"accounting.settings", "accounting.settings.read"}:
                return problems.platform_problem(403, "Forbidden", "AuthorizationUnsuccessful")
            with ratelimit.admit(str(organisation.tenant_id), grant.app.client_id, statements) as outcome:
                if outcome.problem:
                    response = problems.platform_problem(429, "Too Many Requests", "Rate limit exceeded")
                    response["Retry-After"] = str(outcome.retry_after)
                    response["X-Rate-Limit-Problem"] = outcome.problem
                    return response
                response = _call(view, request, grant, organisation, args, kwargs)
                for name, value in outcome.headers.items():
                    response[name] = value
                return response

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            connection = _tenant_connection(request)
            if connection is not None and not connection.faults_pending:
                return guarded(request, connection, *args, **kwargs)
            return faults.apply(request, sandbox_path(request), guarded, connection, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorate


def _call(view, request, grant, organisation, args, kwargs):
    body = b""
    if request.method in ("POST", "PUT"):
        body = _read_body(request)
        if body is None:
            return problems.json_response(
                {
                    "type": "invalid-request",
                    "title": "Request too large",
                    "status": 413,
                    "detail": f"Request size exceeds the limit of {MAX_BODY_BYTES} bytes.",
                },
                413,
                "application/problem+json",
            )
    ctx = CallContext(grant=grant, app=grant.app, organisation=organisation, body=body)
    return view(request, ctx, *args, **kwargs)


def _as_uuid(value: str):
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None
