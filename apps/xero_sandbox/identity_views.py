"""Xero identity: the authorize/consent page, the token and revocation endpoints and
the connections list.

Strict choices where Xero is silent: ``state`` is required; PKCE accepts only ``S256``;
an unknown client, an unregistered redirect URI or a scope the app may not ask for shows
an error page (never a redirect, as Xero shows its error screen); client credentials may
come in a Basic header or in the form body, but not both; a code challenge sent at
authorize makes the verifier mandatory; a ``scope`` on refresh must be a subset of the
granted scopes. Scripted tests may skip the consent page with
``sandbox_approve=<tenant id>`` (repeatable) or ``sandbox_approve=deny`` on the authorize
URL; ``XERO_SANDBOX_AUTO_APPROVE`` approves the first organisation by name. The consent
page itself ticks no organisation, as Xero's does: the user picks.
"""

import base64
import binascii
import datetime
import hashlib
import re
import secrets
import uuid
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from . import problems, tokens
from .gateway import bearer_grant, faultable
from .models import AuthorizationCode, Connection, Grant, Organisation, RefreshToken, SandboxApp

PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def _redirect_with(uri: str, params: dict) -> HttpResponseRedirect:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _error_page(request, message: str) -> HttpResponse:
    return render(request, "xero_sandbox/authorize_error.html", {"message": message}, status=400)


def _validate_authorize(params) -> tuple[SandboxApp | None, str | None, str | None]:
    """(app, error page message, redirectable OAuth error) for authorize parameters."""
    app = SandboxApp.objects.filter(client_id=params.get("client_id", "")).first()
    if app is None:
        return None, "Unknown client_id.", None
    if params.get("redirect_uri", "") not in app.redirect_uris:
        return app, "The redirect_uri is not registered for this app.", None
    scopes = params.get("scope", "").split()
    if not scopes:
        return app, "The scope parameter is required.", None
    unknown = sorted(set(scopes) - app.allowed_scopes())
    if unknown:
        return app, f"Invalid scope for this app: {' '.join(unknown)}.", None
    if params.get("response_type") != "code":
        return app, None, "unsupported_response_type"
    if not params.get("state"):
        return app, None, "invalid_request"
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if challenge or method:
        if method != "S256" or not PKCE_CHALLENGE.match(challenge):
            return app, None, "invalid_request"
    return app, None, None


@transaction.atomic
def _approve(app: SandboxApp, params, organisations) -> HttpResponseRedirect:
    grant = Grant.objects.create(app=app, scopes=" ".join(params["scope"].split()))
    now = timezone.now()
    Connection.objects.bulk_create(
        [Connection(grant=grant, organisation=org, created_at=now, updated_at=now) for org in organisations]
    )
    code = AuthorizationCode.objects.create(
        grant=grant, redirect_uri=params["redirect_uri"], code_challenge=params.get("code_challenge", "")
    )
    return _redirect_with(
        params["redirect_uri"],
        {"code": code.code, "scope": grant.scopes, "state": params["state"], "session_state": uuid.uuid4().hex},
    )


@require_http_methods(["GET", "POST"])
def authorize(request):
    """GET: validate and show the consent page. POST: the user's Allow or Cancel."""
    params = request.GET if request.method == "GET" else request.POST
    app, page_error, oauth_error = _validate_authorize(params)
    if page_error:
        return _error_page(request, page_error)
    if oauth_error:
        return _redirect_with(params["redirect_uri"], {"error": oauth_error, "state": params.get("state", "")})
    organisations = list(Organisation.objects.order_by("name"))

    if request.method == "GET":
        chosen = params.getlist("sandbox_approve")
        if chosen == ["deny"]:
            return _redirect_with(params["redirect_uri"], {"error": "access_denied", "state": params["state"]})
        if chosen:
            picked = [o for o in organisations if str(o.tenant_id) in chosen]
            if len(picked) != len(set(chosen)):
                return _error_page(request, "sandbox_approve names an unknown organisation.")
            return _approve(app, params, picked)
        if settings.XERO_SANDBOX_AUTO_APPROVE and organisations:
            return _approve(app, params, organisations[:1])
        return render(request, "xero_sandbox/consent.html", _consent_context(app, params, organisations))

    if params.get("decision") != "allow":
        return _redirect_with(params["redirect_uri"], {"error": "access_denied", "state": params["state"]})
    chosen = set(params.getlist("tenant"))
    picked = [o for o in organisations if str(o.tenant_id) in chosen]
    if not picked:
        context = _consent_context(app, params, organisations)
        context["error"] = "Choose at least one organisation."
        return render(request, "xero_sandbox/consent.html", context, status=400)
    return _approve(app, params, picked)


def _consent_context(app, params, organisations) -> dict:
    keep = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")
    return {
        "app": app,
        "organisations": organisations,
        "hidden": [(k, params[k]) for k in keep if params.get(k)],
        "scopes": params.get("scope", "").split(),
    }


def _client(request) -> tuple[SandboxApp | None, HttpResponse | None]:
    """Authenticate the client from a Basic header or the form body (not both)."""
    header = request.headers.get("Authorization", "")
    body_id, body_secret = request.POST.get("client_id"), request.POST.get("client_secret")
    if header:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None, problems.oauth_error("invalid_client", 401)
        if body_secret:
            return None, problems.oauth_error("invalid_request", 400, "Client credentials sent twice.")
        try:
            client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, problems.oauth_error("invalid_client", 401)
    elif body_id:
        client_id, secret = body_id, body_secret or ""
    else:
        return None, problems.oauth_error("invalid_client", 401)
    app = SandboxApp.objects.filter(client_id=client_id).first()
    if app is None or not app.check_secret(secret):
        return None, problems.oauth_error("invalid_client", 401)
    return app, None


def _token_ok(body: dict) -> HttpResponse:
    response = problems.json_response(body)
    response["Cache-Control"] = "no-store"
    return response


@faultable
def token(request):
    """POST connect/token: authorization_code and refresh_token grants."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    app, error = _client(request)
    if error:
        return error
    grant_type = request.POST.get("grant_type", "")
    if not grant_type:
        return problems.oauth_error("invalid_request")
    if grant_type == "authorization_code":
        return _exchange_code(request, app)
    if grant_type == "refresh_token":
        return _refresh(request, app)
    return problems.oauth_error("unsupported_grant_type")


def _exchange_code(request, app):
    code = (
        AuthorizationCode.objects.select_related("grant")
        .filter(code=request.POST.get("code", ""), grant__app=app)
        .first()
    )
    if code is None or code.is_expired():
        return problems.oauth_error("invalid_grant")
    if code.used_at is not None:
        tokens.revoke_grant(code.grant)
        return problems.oauth_error("invalid_grant")
    if request.POST.get("redirect_uri", "") != code.redirect_uri:
        return problems.oauth_error("invalid_grant")
    if code.code_challenge:
        verifier = request.POST.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not PKCE_VERIFIER.match(verifier) or not secrets.compare_digest(expected, code.code_challenge):
            return problems.oauth_error("invalid_grant")
    # Claim the code atomically so two concurrent exchanges cannot both win.
    if not AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now()):
        return problems.oauth_error("invalid_grant")
    return _token_ok(tokens.issue_tokens(code.grant))


def _refresh(request, app):
    value = request.POST.get("refresh_token", "")
    if not value:
        return problems.oauth_error("invalid_request")
    refresh = RefreshToken.objects.select_related("grant__app").filter(token=value, grant__app=app).first()
    if refresh is None or not refresh.is_usable():
        return problems.oauth_error("invalid_grant")
    asked = set(request.POST.get("scope", "").split())
    if asked - refresh.grant.scope_set():
        return problems.oauth_error("invalid_scope")
    return _token_ok(tokens.rotate_refresh_token(refresh))


@faultable
def revocation(request):
    """POST connect/revocation: revoke a refresh token's grant (200 even if unknown)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    app, error = _client(request)
    if error:
        return error
    value = request.POST.get("token", "")
    if not value:
        return problems.oauth_error("invalid_request")
    refresh = RefreshToken.objects.select_related("grant").filter(token=value, grant__app=app).first()
    if refresh is not None:
        tokens.revoke_grant(refresh.grant)
    return HttpResponse(status=200)


def _connection_json(conn: Connection) -> dict:
    return {
        "id": str(conn.id),
        "authEventId": str(conn.grant.auth_event_id),
        "tenantId": str(conn.organisation.tenant_id),
        "tenantType": "ORGANISATION",
        "tenantName": conn.organisation.name,
        "createdDateUtc": _utc(conn.created_at),
        "updatedDateUtc": _utc(conn.updated_at),
    }


def _utc(value) -> str:
    # Xero writes 7 fractional digits and no offset; the "Z" keeps it valid RFC 3339.
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@faultable
def connections(request):
    """GET connections: the tenants connected to the access token's grant."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    grant = bearer_grant(request)
    if grant is None:
        return problems.unauthorized()
    rows = grant.connections.select_related("organisation", "grant").order_by("created_at", "organisation__name")
    auth_event = request.GET.get("authEventId")
    if auth_event and auth_event != str(grant.auth_event_id):
        rows = rows.none()
    return problems.json_response([_connection_json(c) for c in rows])


@faultable
def connection_detail(request, connection_id):
    """DELETE connections/<id>: disconnect that tenant (204)."""
    if request.method != "DELETE":
        return HttpResponseNotAllowed(["DELETE"])
    grant = bearer_grant(request)
    if grant is None:
        return problems.unauthorized()
    removed, _ = tokens.disconnect(Connection.objects.filter(pk=connection_id, grant=grant))
    if not removed:
        return problems.platform_problem(404, "Not Found", "Connection not found")
    return HttpResponse(status=204)
