"""The one Xero client: every call to Xero (identity, Bank Feeds, Accounting) goes
through these functions, against real Xero or the embedded sandbox alike (only the
base URLs in settings differ).

Each function takes what Xero needs (an access token, a tenant id) and returns Xero's
parsed answer, or raises one of the typed exceptions below. Nothing here touches our
database: token storage and refresh live in services.
"""

import json
import os
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

# Xero may answer with a narrower scope than asked for; that is not an error for us.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


class XeroError(Exception):
    """Base of every Xero failure."""

    status: int | None = None
    problem: dict | None = None

    def __init__(self, message, *, status=None, problem=None):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


class XeroAuthRevoked(XeroError):
    """The refresh token (and so the connection) is no longer valid: invalid_grant."""


class XeroUnauthorized(XeroError):
    """An API call answered 401: the access token was not accepted."""


class XeroRateLimited(XeroError):
    def __init__(self, message, *, retry_after: int, problem_kind: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.problem_kind = problem_kind


class XeroRejected(XeroError):
    """Xero refused the request (4xx other than 401/429): the problem says why."""


class XeroUnavailable(XeroError):
    """A 5xx, a timeout or a lost connection. `maybe_delivered` is true when the request
    may have reached Xero (so a write may have been committed)."""

    def __init__(self, message, *, maybe_delivered: bool, **kwargs):
        super().__init__(message, **kwargs)
        self.maybe_delivered = maybe_delivered


@dataclass
class XeroResponse:
    status: int
    data: dict | list | None
    headers: dict = field(default_factory=dict)


_local = threading.local()


def _http() -> requests.Session:
    """A pooled session per thread: keep-alive to Xero matters inside a push."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _insecure_transport_allowed():
    # oauthlib refuses plain http; the embedded sandbox in the demo and tests is http.
    if "http" in (urlsplit(settings.XERO_IDENTITY_URL).scheme, urlsplit(settings.XERO_LOGIN_URL).scheme):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _token_url():
    return f"{settings.XERO_IDENTITY_URL}/connect/token"


def _client_auth():
    return HTTPBasicAuth(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET)


def redirect_uri() -> str:
    return f"{settings.SITE_URL}/portal/xero/callback"


# --- Identity -------------------------------------------------------------------------


def authorization_url(*, state: str, code_challenge: str) -> str:
    """The URL that sends the user to Xero's consent page (authorization code + PKCE S256).

    # Reference: https://developer.xero.com/documentation/guides/oauth2/pkce-flow
    """
    _insecure_transport_allowed()
    session = OAuth2Session(settings.XERO_CLIENT_ID, redirect_uri=redirect_uri(), scope=settings.XERO_SCOPES)
    url, _ = session.authorization_url(
        f"{settings.XERO_LOGIN_URL}/identity/connect/authorize",
        state=state,
        code_challenge=code_challenge,
        code_challenge_method="S256",
    )
    return url


def _token_request(session: OAuth2Session, fetch):
    _insecure_transport_allowed()
    # oauthlib's errors carry the status of their class (400), not Xero's answer: note
    # the real one, so a 5xx from Xero is an outage and not a refusal.
    statuses = []

    def remember_status(response):
        statuses.append(response.status_code)
        return response

    for hook in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(hook, remember_status)
    try:
        return dict(fetch())
    except requests.RequestException as exc:
        raise XeroUnavailable(f"Xero identity unreachable: {type(exc).__name__}", maybe_delivered=True)
    except Exception as exc:  # oauthlib raises its own error classes, one per OAuth error code
        error = getattr(exc, "error", "") or ""
        status = statuses[-1] if statuses else getattr(exc, "status_code", None)
        if error == "invalid_grant":
            raise XeroAuthRevoked("Xero refused the grant (invalid_grant)", status=400, problem={"error": error})
        if (status and status >= 500) or error in ("server_error", "temporarily_unavailable"):
            raise XeroUnavailable(f"Xero identity answered {status}", status=status, maybe_delivered=True)
        raise XeroRejected(f"Xero identity refused the request: {error or exc}", status=status or 400,
                           problem={"error": error})


def exchange_code(*, code: str, code_verifier: str) -> dict:
    """Trade the authorization code for tokens.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#3-exchange-the-code
    """
    session = OAuth2Session(settings.XERO_CLIENT_ID, redirect_uri=redirect_uri(), scope=settings.XERO_SCOPES)
    return _token_request(session, lambda: session.fetch_token(
        _token_url(), code=code, code_verifier=code_verifier, auth=_client_auth(), include_client_id=False,
        timeout=settings.XERO_TIMEOUT_SECONDS,
    ))


def refresh(*, refresh_token: str) -> dict:
    """Exchange a refresh token for new tokens; Xero rotates the refresh token each time.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#refreshing-access-and-refresh-tokens
    """
    session = OAuth2Session(settings.XERO_CLIENT_ID)
    return _token_request(session, lambda: session.refresh_token(
        _token_url(), refresh_token=refresh_token, auth=_client_auth(), timeout=settings.XERO_TIMEOUT_SECONDS,
    ))


def revoke(*, refresh_token: str) -> None:
    """Revoke a refresh token, which removes the app's connections made with it.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#revoking-tokens
    """
    response = _send("POST", f"{settings.XERO_IDENTITY_URL}/connect/revocation", auth=_client_auth(),
                     data={"token": refresh_token})
    # Xero answers 200 (also for a token it no longer knows); anything else means the
    # grant may still stand, so the caller must not report it revoked.
    if response.status_code >= 500:
        raise XeroUnavailable(f"Xero identity answered {response.status_code}", status=response.status_code,
                              maybe_delivered=True)
    if response.status_code >= 300:
        problem = _parse(response)
        raise XeroRejected(f"Xero refused the revocation ({response.status_code})", status=response.status_code,
                           problem=problem if isinstance(problem, dict) else {})


def list_connections(*, access_token: str) -> list[dict]:
    """The organisations this token may access.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#5-check-the-tenants-youre-authorized-to-access
    """
    return _api("GET", "/connections", access_token=access_token).data


def delete_connection(*, access_token: str, connection_id: str) -> None:
    """Disconnect one organisation from the app.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#removing-connections
    """
    _api("DELETE", f"/connections/{connection_id}", access_token=access_token)


# --- Accounting (read) ----------------------------------------------------------------


def get_organisation(*, access_token: str, tenant_id: str) -> dict:
    """# Reference: https://developer.xero.com/documentation/api/accounting/organisation"""
    data = _api("GET", "/api.xro/2.0/Organisation", access_token=access_token, tenant_id=tenant_id).data
    return data["Organisations"][0]


def list_currencies(*, access_token: str, tenant_id: str) -> list[dict]:
    """# Reference: https://developer.xero.com/documentation/api/accounting/currencies"""
    return _api("GET", "/api.xro/2.0/Currencies", access_token=access_token, tenant_id=tenant_id).data["Currencies"]


def list_bank_accounts(*, access_token: str, tenant_id: str) -> list[dict]:
    """The organisation's active bank accounts (Type BANK, which includes credit cards).

    # Reference: https://developer.xero.com/documentation/api/accounting/accounts
    """
    data = _api("GET", "/api.xro/2.0/Accounts", access_token=access_token, tenant_id=tenant_id,
                params={"where": 'Type=="BANK" AND Status=="ACTIVE"'}).data
    return data["Accounts"]


# --- Bank Feeds 1.0 ---------------------------------------------------------------------


def create_feed_connections(*, access_token: str, tenant_id: str, items: list[dict],
                            idempotency_key: str | None = None) -> XeroResponse:
    """Connect feeds to Xero bank accounts (matched by number or id, or created).
    Xero answers 202, or 400 with per-item errors; both come back as a response.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections
    """
    return _api("POST", "/bankfeeds.xro/1.0/FeedConnections", access_token=access_token, tenant_id=tenant_id,
                json_body={"items": items}, idempotency_key=idempotency_key, accept_item_errors=True)


def get_feed_connection(*, access_token: str, tenant_id: str, feed_connection_id: str) -> dict:
    """# Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections"""
    return _api("GET", f"/bankfeeds.xro/1.0/FeedConnections/{feed_connection_id}", access_token=access_token,
                tenant_id=tenant_id).data


def delete_feed_connections(*, access_token: str, tenant_id: str, feed_connection_ids: list[str]) -> XeroResponse:
    """Ask Xero to delete feed connections; the Xero bank accounts stay.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections#post-feedconnections-deleterequests
    """
    return _api("POST", "/bankfeeds.xro/1.0/FeedConnections/DeleteRequests", access_token=access_token,
                tenant_id=tenant_id, json_body={"items": [{"id": i} for i in feed_connection_ids]},
                accept_item_errors=True)


def create_statement(*, access_token: str, tenant_id: str, statement_json: str,
                     idempotency_key: str | None = None) -> XeroResponse:
    """Post one statement, given as its JSON text (serialised once by the caller, who
    also hashes it for the Idempotency-Key). 202 with its status, 409
    duplicate-statement, or a problem.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/statements
    """
    return _api("POST", "/bankfeeds.xro/1.0/Statements", access_token=access_token, tenant_id=tenant_id,
                raw_json=f'{{"items":[{statement_json}]}}', idempotency_key=idempotency_key, accept_item_errors=True)


def get_statement(*, access_token: str, tenant_id: str, statement_id: str) -> dict:
    """# Reference: https://developer.xero.com/documentation/bank-feeds-api/statements"""
    return _api("GET", f"/bankfeeds.xro/1.0/Statements/{statement_id}", access_token=access_token,
                tenant_id=tenant_id).data


# --- HTTP -------------------------------------------------------------------------------


def _send(method, url, **kwargs) -> requests.Response:
    try:
        return _http().request(method, url, timeout=settings.XERO_TIMEOUT_SECONDS, **kwargs)
    except requests.ConnectionError as exc:
        # The request may or may not have reached Xero before the connection broke.
        raise XeroUnavailable(f"Lost connection to Xero: {type(exc).__name__}", maybe_delivered=True)
    except requests.Timeout:
        raise XeroUnavailable("Xero did not answer in time", maybe_delivered=True)
    except requests.RequestException as exc:
        raise XeroUnavailable(f"Xero request failed: {type(exc).__name__}", maybe_delivered=True)


def _parse(response: requests.Response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}


def _api(method, path, *, access_token, tenant_id=None, params=None, json_body=None, raw_json=None,
         idempotency_key=None, accept_item_errors=False) -> XeroResponse:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    if tenant_id:
        headers["Xero-Tenant-Id"] = str(tenant_id)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    data = raw_json
    if json_body is not None:
        data = json.dumps(json_body, separators=(",", ":"))
    if data is not None:
        headers["Content-Type"] = "application/json"
        data = data.encode()
    response = _send(method, f"{settings.XERO_API_URL}{path}", headers=headers, params=params, data=data)
    body = _parse(response)
    status = response.status_code
    if status < 300:
        return XeroResponse(status, body, dict(response.headers))
    problem = body if isinstance(body, dict) else {}
    detail = problem.get("detail") or problem.get("Detail") or problem.get("title") or problem.get("Title") or ""
    if status == 401:
        raise XeroUnauthorized(f"Xero did not accept the access token: {detail}", status=status, problem=problem)
    if status == 429:
        retry_after = int(response.headers.get("Retry-After", "60") or 60)
        raise XeroRateLimited(f"Xero rate limit reached ({response.headers.get('X-Rate-Limit-Problem', '')})",
                              retry_after=retry_after, problem_kind=response.headers.get("X-Rate-Limit-Problem", ""),
                              status=status, problem=problem)
    if status >= 500:
        raise XeroUnavailable(f"Xero answered {status}: {detail}", status=status, problem=problem,
                              maybe_delivered=True)
    if accept_item_errors and isinstance(body, dict) and "items" in body:
        # Bank Feeds reports per-item outcomes (rejected items, duplicates) in the envelope.
        return XeroResponse(status, body, dict(response.headers))
    raise XeroRejected(f"Xero refused the request ({status}): {detail}", status=status, problem=problem)
