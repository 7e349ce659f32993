"""The one Xero client: every call to Xero (identity, Bank Feeds, Accounting) goes
through these functions, against real Xero or the embedded sandbox alike (only the
base URLs in settings differ).

Each function takes what Xero needs (an access token, a tenant id) and returns a small
typed result parsed strictly from Xero's answer, or raises one of the typed exceptions
below. This is the only module that reads Xero's envelopes (`items`, problem types,
statuses). Nothing here touches our database: token storage and refresh live in services.
"""

import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from apps.core import egress

logger = logging.getLogger(__name__)
# Xero may answer with a narrower scope than asked for; that is not an error for us.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


# --- What Xero says went wrong ---------------------------------------------------------


@dataclass(frozen=True)
class XeroProblem:
    """One problem Xero reported (a Bank Feeds problem or an item's error)."""

    type: str = ""
    title: str = ""
    detail: str = ""
    status: int | None = None

    @classmethod
    def parse(cls, data) -> "XeroProblem":
        if not isinstance(data, dict):
            return cls()
        status = data.get("status") if isinstance(data.get("status"), int) else None
        return cls(type=str(data.get("type") or ""), title=str(data.get("title") or data.get("Title") or ""),
                   detail=str(data.get("detail") or data.get("Detail") or ""), status=status)

    @property
    def text(self) -> str:
        """Xero's own words for it ("" when it gave none)."""
        return self.detail or self.title


class XeroError(Exception):
    """Base of every Xero failure. `problems` holds what Xero said, if anything."""

    def __init__(self, message, *, status=None, problems=None):
        super().__init__(message)
        self.status = status
        self.problems: list[XeroProblem] = list(problems or [])


class XeroAuthRevoked(XeroError):
    """The refresh token (and so the connection) is no longer valid: invalid_grant."""


class XeroUnauthorized(XeroError):
    """An API call answered 401: the access token was not accepted."""


class XeroForbidden(XeroError):
    """An API call answered 403 without a Bank Feeds problem: Xero no longer lets this app
    reach the organisation (the user disconnected it in Xero)."""


class XeroRateLimited(XeroError):
    """Xero (or our own limiter, before calling it) refused for now: retry after `retry_after`."""

    def __init__(self, message, *, retry_after: int, problem_kind: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.problem_kind = problem_kind


class XeroRejected(XeroError):
    """Xero refused the request (a 4xx other than 401/429): `problems` say why."""


class XeroItemRejected(XeroRejected):
    """Bank Feeds took the request but refused its item (a feed connection or statement)."""


class XeroDuplicateStatement(XeroItemRejected):
    """Xero already has this statement (or one with the same lines): `statement_id` is the
    duplicate it recorded."""

    def __init__(self, message, *, statement_id: str | None, **kwargs):
        super().__init__(message, **kwargs)
        self.statement_id = statement_id


class XeroUnavailable(XeroError):
    """A 5xx, a timeout, a lost connection or an answer we cannot read. `maybe_delivered`
    is true when the request may have reached Xero (so a write may have been committed)."""

    def __init__(self, message, *, maybe_delivered: bool, **kwargs):
        super().__init__(message, **kwargs)
        self.maybe_delivered = maybe_delivered


# --- What Xero answers ------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True)
class Tenant:
    """One organisation (or practice) the user connected to the app."""

    id: str  # Xero's id for the app↔organisation connection
    tenant_id: str
    tenant_name: str
    tenant_type: str

    @property
    def is_organisation(self) -> bool:
        return self.tenant_type == "ORGANISATION"


@dataclass(frozen=True)
class Organisation:
    name: str
    base_currency: str
    plan: str | None  # Xero's `Class`


@dataclass(frozen=True)
class BankAccount:
    """An active Xero bank account. `currency` None means the organisation's base currency;
    Xero UK keeps "sort code + number" in one field, split here."""

    account_id: str
    name: str
    sort_code: str | None
    number: str | None
    currency: str | None
    type: str  # BANK or CREDITCARD


@dataclass(frozen=True)
class FeedConnection:
    """A feed connection as Xero reads it back; `connected` is false while Xero has it pending."""

    id: str
    connected: bool
    account_id: str | None
    account_name: str | None


@dataclass(frozen=True)
class StatementAccepted:
    """Xero took the statement: PENDING (delivered into the account shortly) or DELIVERED."""

    id: str | None
    delivered: bool


@dataclass(frozen=True)
class StatementState:
    """A statement Xero kept, as it reads it now (a rejected one raises instead)."""

    id: str
    delivered: bool


@dataclass
class _Answer:
    status: int
    data: dict | list | None
    headers: dict = field(default_factory=dict)


_local = threading.local()
_deadline: ContextVar[float | None] = ContextVar("xero_deadline", default=None)


@contextmanager
def deadline(seconds: float):
    """Every call to Xero made inside the block ends within `seconds` from now (each one's
    timeout is cut to what is left; an enclosing, earlier deadline still holds), so a lock
    or a slot held across the calls can be held for exactly that long."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """What is left of the current deadline, or None outside one."""
    end = _deadline.get()
    return None if end is None else max(0.0, end - time.monotonic())


def _timeout() -> float:
    """This call's timeout: Xero's setting, cut to what is left of the deadline."""
    left = seconds_left()
    if left is None:
        return settings.XERO_TIMEOUT_SECONDS
    if left < 0.1:
        # Nothing was sent: the caller may say so (maybe_delivered false).
        raise XeroUnavailable("No time was left to call Xero within this request's deadline", maybe_delivered=False)
    return min(settings.XERO_TIMEOUT_SECONDS, left)


# The work a caller gave for the wait between sending a request and reading its answer
# (create_statement's `while_xero_reads`), taken by the connection that sends it.
_while_waiting: ContextVar = ContextVar("xero_while_waiting", default=None)


class _RunsWhileWaiting:
    """A connection that, once a request is sent and before its answer is read, runs the
    work given for that wait. An error in it is logged, not raised: the request is out,
    and its answer must be read whatever the work did."""

    def getresponse(self, *args, **kwargs):
        work = _while_waiting.get()
        if work is not None:
            _while_waiting.set(None)
            try:
                work()
            except Exception:
                logger.exception("The work done while Xero read a request failed; it is left to the caller")
        return super().getresponse(*args, **kwargs)


class _HTTPConnection(_RunsWhileWaiting, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_RunsWhileWaiting, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _pool() -> urllib3.PoolManager:
    """A connection pool per thread: keep-alive to Xero matters inside a push. urllib3's,
    not a requests session: the API calls need none of what requests adds on top (a fifth
    of a millisecond of CPU a call). The proxy and CA bundle from the environment, as
    requests would find them (not .netrc: its credentials would replace the Bearer token),
    looked up once."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        options = {"cert_reqs": "CERT_REQUIRED", "retries": False, "ca_certs": egress.ca_bundle()}
        proxy = egress.environ_proxy(settings.XERO_API_URL)
        pool = _local.pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        pool.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        _local.hosts = {}
    return pool


def _host_pool(url: str):
    """Where to send `url`, and what to ask for there: the host's own connection pool, kept
    per thread (finding it through the manager builds a key of some thirty settings on
    every call), and the path; or the proxy's manager and the whole URL."""
    manager = _pool()
    if isinstance(manager, urllib3.ProxyManager):
        return manager, url
    scheme, netloc, path, query, _ = urlsplit(url)
    host = _local.hosts.get((scheme, netloc))
    if host is None:
        host = _local.hosts[(scheme, netloc)] = manager.connection_from_url(url)
    return host, f"{path}?{query}" if query else path


def _insecure_transport_allowed():
    # oauthlib refuses plain http; the embedded sandbox in the demo and tests is http.
    if "http" in (urlsplit(settings.XERO_IDENTITY_URL).scheme, urlsplit(settings.XERO_LOGIN_URL).scheme):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _token_url():
    return f"{settings.XERO_IDENTITY_URL}/connect/token"


def _client_auth():
    return HTTPBasicAuth(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET)


# --- Identity -------------------------------------------------------------------------


def authorization_url(*, redirect_uri: str, state: str, code_challenge: str) -> str:
    """The URL that sends the user to Xero's consent page (authorization code + PKCE S256).

    # Reference: https://developer.xero.com/documentation/guides/oauth2/pkce-flow
    """
    _insecure_transport_allowed()
    session = OAuth2Session(settings.XERO_CLIENT_ID, redirect_uri=redirect_uri, scope=settings.XERO_SCOPES)
    url, _ = session.authorization_url(
        f"{settings.XERO_LOGIN_URL}/identity/connect/authorize",
        state=state,
        code_challenge=code_challenge,
        code_challenge_method="S256",
    )
    return url


def _tokens(token: dict) -> Tokens:
    if not isinstance(token.get("access_token"), str) or not token["access_token"]:
        raise XeroUnavailable("Xero identity answered without an access token", maybe_delivered=True)
    scope = token.get("scope", "")
    try:
        expires_in = int(token.get("expires_in", 1800))
    except (TypeError, ValueError):
        expires_in = 1800
    return Tokens(access_token=token["access_token"], refresh_token=token.get("refresh_token") or "",
                  expires_in=expires_in, scope=" ".join(scope) if isinstance(scope, list) else str(scope or ""))


def _token_request(session: OAuth2Session, fetch) -> Tokens:
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
        return _tokens(dict(fetch()))
    except requests.RequestException as exc:
        raise XeroUnavailable(f"Xero identity unreachable: {type(exc).__name__}", maybe_delivered=True)
    except XeroError:
        raise
    except Exception as exc:  # oauthlib raises its own error classes, one per OAuth error code
        error = getattr(exc, "error", "") or ""
        status = statuses[-1] if statuses else getattr(exc, "status_code", None)
        problem = XeroProblem(type=error, status=status)
        if error == "invalid_grant":
            raise XeroAuthRevoked("Xero refused the grant (invalid_grant)", status=400, problems=[problem])
        if (status and status >= 500) or error in ("server_error", "temporarily_unavailable"):
            raise XeroUnavailable(f"Xero identity answered {status}", status=status, maybe_delivered=True)
        raise XeroRejected(f"Xero identity refused the request: {error or exc}", status=status or 400,
                           problems=[problem])


def exchange_code(*, code: str, code_verifier: str, redirect_uri: str) -> Tokens:
    """Trade the authorization code for tokens.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#3-exchange-the-code
    """
    session = OAuth2Session(settings.XERO_CLIENT_ID, redirect_uri=redirect_uri, scope=settings.XERO_SCOPES)
    return _token_request(session, lambda: session.fetch_token(
        _token_url(), code=code, code_verifier=code_verifier, auth=_client_auth(), include_client_id=False,
        timeout=_timeout(),
    ))


def refresh(*, refresh_token: str) -> Tokens:
    """Exchange a refresh token for new tokens; Xero rotates the refresh token each time.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#refreshing-access-and-refresh-tokens
    """
    session = OAuth2Session(settings.XERO_CLIENT_ID)
    return _token_request(session, lambda: session.refresh_token(
        _token_url(), refresh_token=refresh_token, auth=_client_auth(), timeout=_timeout(),
    ))


def revoke(*, refresh_token: str) -> None:
    """Revoke a refresh token, which removes the app's connections made with it.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#revoking-tokens
    """
    client = urllib3.util.make_headers(basic_auth=f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}")
    response = _send("POST", f"{settings.XERO_IDENTITY_URL}/connect/revocation",
                     headers={**client, "Content-Type": "application/x-www-form-urlencoded"},
                     body=urlencode({"token": refresh_token}).encode())
    # Xero answers 200 (also for a token it no longer knows); anything else means the
    # grant may still stand, so the caller must not report it revoked.
    if response.status >= 500:
        raise XeroUnavailable(f"Xero identity answered {response.status}", status=response.status,
                              maybe_delivered=True)
    if response.status >= 300:
        raise XeroRejected(f"Xero refused the revocation ({response.status})", status=response.status,
                           problems=[XeroProblem.parse(_parse(response))])


def list_connections(*, access_token: str) -> list[Tenant]:
    """The organisations this token may access.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#5-check-the-tenants-youre-authorized-to-access
    """
    data = _api("GET", "/connections", access_token=access_token).data
    if not isinstance(data, list):
        raise _unreadable("/connections")
    try:
        return [Tenant(id=str(c.get("id") or ""), tenant_id=str(c["tenantId"]), tenant_name=c.get("tenantName") or "",
                       tenant_type=c.get("tenantType") or "ORGANISATION") for c in data]
    except (KeyError, TypeError, AttributeError):
        raise _unreadable("/connections")


def delete_connection(*, access_token: str, connection_id: str) -> None:
    """Disconnect one organisation from the app.

    # Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow#removing-connections
    """
    _api("DELETE", f"/connections/{connection_id}", access_token=access_token)


# --- Accounting (read) ----------------------------------------------------------------


def get_organisation(*, access_token: str, tenant_id: str) -> Organisation:
    """# Reference: https://developer.xero.com/documentation/api/accounting/organisation"""
    data = _api("GET", "/api.xro/2.0/Organisation", access_token=access_token, tenant_id=tenant_id).data
    try:
        org = data["Organisations"][0]
        return Organisation(name=org.get("Name") or "", base_currency=org.get("BaseCurrency") or "",
                            plan=org.get("Class"))
    except (KeyError, IndexError, TypeError, AttributeError):
        raise _unreadable("Organisation")


def list_currencies(*, access_token: str, tenant_id: str) -> list[str]:
    """The organisation's currency codes.

    # Reference: https://developer.xero.com/documentation/api/accounting/currencies
    """
    data = _api("GET", "/api.xro/2.0/Currencies", access_token=access_token, tenant_id=tenant_id).data
    try:
        return [c["Code"] for c in data["Currencies"]]
    except (KeyError, TypeError):
        raise _unreadable("Currencies")


_UK_NUMBER = re.compile(r"^\s*(\d{2}-?\d{2}-?\d{2})\s+(\S+)\s*$")


def _bank_account(account: dict) -> BankAccount:
    number = account.get("BankAccountNumber") or None
    sort_code = None
    match = _UK_NUMBER.match(number or "")
    if match:
        sort_code, number = match.groups()
    return BankAccount(account_id=account["AccountID"], name=account.get("Name") or "", sort_code=sort_code,
                       number=number, currency=account.get("CurrencyCode") or None,
                       type=account.get("BankAccountType") or "BANK")


def list_bank_accounts(*, access_token: str, tenant_id: str) -> list[BankAccount]:
    """The organisation's active bank accounts (Type BANK, which includes credit cards).

    # Reference: https://developer.xero.com/documentation/api/accounting/accounts
    """
    data = _api("GET", "/api.xro/2.0/Accounts", access_token=access_token, tenant_id=tenant_id,
                params={"where": 'Type=="BANK" AND Status=="ACTIVE"'}).data
    try:
        return [_bank_account(a) for a in data["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE"]
    except (KeyError, TypeError, AttributeError):
        raise _unreadable("Accounts")


# --- Bank Feeds 1.0 ---------------------------------------------------------------------


def _items(answer: _Answer, what: str) -> list[dict]:
    items = answer.data.get("items") if isinstance(answer.data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _unreadable(what)
    return items


def create_feed_connection(*, access_token: str, tenant_id: str, item: dict,
                           idempotency_key: str | None = None) -> str:
    """Connect one feed to a Xero bank account (matched by number or id, or created) and
    return its id. Raises XeroItemRejected with Xero's reason when Xero refuses it.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections
    """
    answer = _api("POST", "/bankfeeds.xro/1.0/FeedConnections", access_token=access_token, tenant_id=tenant_id,
                  json_body={"items": [item]}, idempotency_key=idempotency_key, accept_item_errors=True)
    items = _items(answer, "FeedConnections")
    first = items[0] if items else {}
    if first.get("status") == "REJECTED" or first.get("error") or not first.get("id"):
        problems = [XeroProblem.parse(first["error"])] if first.get("error") else []
        raise XeroItemRejected("Xero refused the feed connection", status=answer.status, problems=problems)
    return str(first["id"])


def get_feed_connection(*, access_token: str, tenant_id: str, feed_connection_id: str) -> FeedConnection:
    """A feed connection as Xero has it now. Raises XeroItemRejected when Xero rejected it.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections
    """
    data = _api("GET", f"/bankfeeds.xro/1.0/FeedConnections/{feed_connection_id}", access_token=access_token,
                tenant_id=tenant_id).data
    if not isinstance(data, dict):
        raise _unreadable("FeedConnections")
    status = (data.get("status") or "CONNECTED").upper()
    if status == "REJECTED":
        problems = [XeroProblem.parse(data["error"])] if data.get("error") else []
        raise XeroItemRejected("Xero rejected the feed connection", status=400, problems=problems)
    return FeedConnection(id=str(data.get("id") or feed_connection_id), connected=status != "PENDING",
                          account_id=data.get("accountId") or None, account_name=data.get("accountName") or None)


def delete_feed_connections(*, access_token: str, tenant_id: str, feed_connection_ids: list[str]) -> None:
    """Ask Xero to delete feed connections; the Xero bank accounts stay. One already
    deleted (by the organisation, say) is the outcome asked for, not an error.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/feed-connections#post-feedconnections-deleterequests
    """
    answer = _api("POST", "/bankfeeds.xro/1.0/FeedConnections/DeleteRequests", access_token=access_token,
                  tenant_id=tenant_id, json_body={"items": [{"id": i} for i in feed_connection_ids]},
                  accept_item_errors=True)
    for item in _items(answer, "DeleteRequests"):
        problem = XeroProblem.parse(item.get("error"))
        if item.get("status") == "REJECTED" and problem.type != "feed-not-found-or-already-deleted":
            raise XeroItemRejected(f"Xero refused to delete the feed: {problem.detail}", status=answer.status,
                                   problems=[problem])


def create_statement(*, access_token: str, tenant_id: str, statement_json: str,
                     idempotency_key: str | None = None, while_xero_reads=None) -> StatementAccepted:
    """Post one statement, given as its JSON text (serialised once by the caller, who
    also hashes it for the Idempotency-Key). Raises XeroDuplicateStatement when Xero already
    has it, XeroItemRejected when Xero refuses it, or the usual errors.

    `while_xero_reads`, if given, is called with no arguments once the statement is sent
    and before Xero's answer is read: the caller's own work, done while Xero reads a
    statement that takes it a hundred milliseconds or more. Should it fail, its error is
    logged and the call goes on (the caller finds the work undone).

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/statements
    """
    answer = _api("POST", "/bankfeeds.xro/1.0/Statements", access_token=access_token, tenant_id=tenant_id,
                  raw_json=f'{{"items":[{statement_json}]}}', idempotency_key=idempotency_key,
                  accept_item_errors=True, while_waiting=while_xero_reads)
    items = _items(answer, "Statements")
    first = items[0] if items else {}
    errors = first.get("errors") if isinstance(first.get("errors"), list) else []
    problems = [XeroProblem.parse(e) for e in errors]
    statement_id = str(first["id"]) if first.get("id") else None
    if answer.status == 409 or any(p.type == "duplicate-statement" for p in problems):
        raise XeroDuplicateStatement("Xero marked the statement duplicate", statement_id=statement_id,
                                     status=409, problems=problems)
    if answer.status >= 300 or first.get("status") == "REJECTED":
        raise XeroItemRejected("Xero rejected the statement", status=answer.status if answer.status >= 300 else 400,
                               problems=problems)
    return StatementAccepted(id=statement_id, delivered=first.get("status") == "DELIVERED")


def get_statement(*, access_token: str, tenant_id: str, statement_id: str) -> StatementState:
    """The statement's status now. Raises XeroItemRejected when Xero rejected it after all.

    # Reference: https://developer.xero.com/documentation/bank-feeds-api/statements
    """
    data = _api("GET", f"/bankfeeds.xro/1.0/Statements/{statement_id}", access_token=access_token,
                tenant_id=tenant_id).data
    if not isinstance(data, dict):
        raise _unreadable("Statements")
    if data.get("status") == "REJECTED":
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        raise XeroItemRejected("Xero rejected the statement", status=400,
                               problems=[XeroProblem.parse(e) for e in errors])
    return StatementState(id=str(data.get("id") or statement_id), delivered=data.get("status") == "DELIVERED")


# --- HTTP -------------------------------------------------------------------------------


def _unreadable(what: str) -> XeroUnavailable:
    return XeroUnavailable(f"Xero's answer to {what} could not be read", maybe_delivered=True)


@dataclass
class _Response:
    status: int
    headers: urllib3.HTTPHeaderDict
    content: bytes


# As requests sent them: a User-Agent (naming us), and compressed answers accepted.
_DEFAULT_HEADERS = {"User-Agent": f"bank-feeds-portal urllib3/{urllib3.__version__}",
                    "Accept-Encoding": "gzip, deflate"}


def _send(method, url, *, headers: dict, body: bytes | None = None, params: dict | None = None,
          while_waiting=None) -> _Response:
    """One HTTP exchange with Xero: never retried (a statement must not be posted twice
    unasked) and never redirected; `while_waiting` runs once the request is sent, before
    the answer is read (_RunsWhileWaiting)."""
    if params:
        url = f"{url}?{urlencode(params)}"
    seconds = _timeout()
    options = {"body": body, "headers": {**_DEFAULT_HEADERS, **headers}, "retries": False, "redirect": False,
               "timeout": urllib3.Timeout(connect=seconds, read=seconds)}
    waiting = _while_waiting.set(while_waiting)
    try:
        pool, target = _host_pool(url)
        response = pool.urlopen(method, target, **options)
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.NewConnectionError, urllib3.exceptions.SSLError,
            urllib3.exceptions.ProxyError) as exc:
        # The request may or may not have reached Xero before the connection broke. (A
        # refused connection is a NewConnectionError, which urllib3 files under timeouts.)
        raise XeroUnavailable(f"Lost connection to Xero: {type(exc).__name__}", maybe_delivered=True)
    except urllib3.exceptions.TimeoutError:
        raise XeroUnavailable("Xero did not answer in time", maybe_delivered=True)
    except urllib3.exceptions.HTTPError as exc:
        raise XeroUnavailable(f"Xero request failed: {type(exc).__name__}", maybe_delivered=True)
    finally:
        _while_waiting.reset(waiting)
    return _Response(response.status, response.headers, response.data)


def _parse(response: _Response):
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return {"detail": response.content.decode("utf-8", "replace")[:500]}


def _api(method, path, *, access_token, tenant_id=None, params=None, json_body=None, raw_json=None,
         idempotency_key=None, accept_item_errors=False, while_waiting=None) -> _Answer:
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
    response = _send(method, f"{settings.XERO_API_URL}{path}", headers=headers, params=params, body=data,
                     while_waiting=while_waiting)
    body = _parse(response)
    status = response.status
    if status < 300:
        return _Answer(status, body, dict(response.headers))
    problem = XeroProblem.parse(body)
    if status == 401:
        raise XeroUnauthorized(f"Xero did not accept the access token: {problem.text}", status=status,
                               problems=[problem])
    if status == 403 and not problem.type:
        # Xero's platform answer for a tenant the token may not reach (Bank Feeds' own 403s,
        # such as invalid-feed-connection, carry a problem type).
        raise XeroForbidden(f"Xero refused access to the organisation: {problem.text}", status=status,
                            problems=[problem])
    if status == 429:
        kind = response.headers.get("X-Rate-Limit-Problem", "")
        try:
            retry_after = int(response.headers.get("Retry-After", "60") or 60)
        except ValueError:
            retry_after = 60
        raise XeroRateLimited(f"Xero rate limit reached ({kind})", retry_after=retry_after, problem_kind=kind,
                              status=status, problems=[problem])
    if status >= 500:
        raise XeroUnavailable(f"Xero answered {status}: {problem.text}", status=status, problems=[problem],
                              maybe_delivered=True)
    if accept_item_errors and isinstance(body, dict) and "items" in body:
        # Bank Feeds reports per-item outcomes (rejected items, duplicates) in the envelope.
        return _Answer(status, body, dict(response.headers))
    raise XeroRejected(f"Xero refused the request ({status}): {problem.text}", status=status, problems=[problem])
