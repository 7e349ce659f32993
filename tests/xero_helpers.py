"""Test helpers that drive the real flows against the embedded sandbox over HTTP:
register the portal's app, run the OAuth dance through our own services, connect a
feed through our own client, and read what "Xero" holds through the sandbox's public
JSON views and control paths (never its tables)."""

import hashlib
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.core.management import call_command

UK = "Demo Company (UK)"
AU = "Demo Company (AU)"


def _sandbox(path: str, *, json=None):
    """GET (or, with a JSON body, POST) one of the sandbox's public paths."""
    url = f"{settings.XERO_API_URL}{path}"
    response = requests.post(url, json=json, timeout=10) if json is not None else requests.get(url, timeout=10)
    assert response.status_code < 300, response.text
    return response.json()


def organisation(name: str = UK) -> dict:
    """The sandbox organisation with its bank accounts, feeds, statements and delivered lines."""
    return _sandbox(f"/organisations/{tenant_id(name)}.json")


def xero_account(name: str, org: str = UK) -> dict:
    """A sandbox bank account by name, or by id when `name` is one."""
    accounts = _sandbox(f"/organisations/{tenant_id(org)}.json")["bankAccounts"]
    return next(a for a in accounts if name in (a["name"], a["accountId"]))


def live_feeds(account: dict | None = None, org: str = UK) -> list[dict]:
    """The sandbox's feed connections that are not deleted (optionally those delivering to
    one bank account, as xero_account gives it)."""
    feeds = [f for f in _sandbox(f"/organisations/{tenant_id(org)}.json")["feedConnections"] if not f["deleted"]]
    return [f for f in feeds if account is None or f["accountId"] == account["accountId"]]


def delivered_lines(source_account) -> list[dict]:
    """The statement lines the sandbox holds as delivered on the source account's feed."""
    feed = source_account.feeds.first()
    state = _sandbox(f"/organisations/{source_account.connection.tenant_id}.json")
    return [line for line in state["statementLines"] if line["feedConnectionId"] == str(feed.xero_feed_connection_id)]


def statements(org: str = UK) -> list[dict]:
    """Every statement posted to the organisation's feeds, oldest first."""
    return _sandbox(f"/organisations/{tenant_id(org)}.json")["statements"]


def reject_statement(statement_id, detail: str) -> None:
    """Xero refuses a statement after it answered PENDING."""
    _sandbox("/_control/reject-statement", json={"statementId": str(statement_id), "detail": detail})


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def portal_app() -> dict:
    """The sandbox's record of the portal's OAuth app (it counts refreshes)."""
    return next(a for a in _sandbox("/apps.json")["apps"] if a["clientId"] == settings.XERO_CLIENT_ID)


def grants() -> list[dict]:
    return [g for app in _sandbox("/apps.json")["apps"] for g in app["grants"]]


def grant(grant_id: str) -> dict:
    return next(g for g in grants() if g["id"] == grant_id)


def sandbox_grant(connection) -> dict:
    """The sandbox grant that the connection's refresh token belongs to."""
    token = _sha256(connection.refresh_token)
    return next(g for g in grants() if any(t["tokenSha256"] == token for t in g["refreshTokens"]))


def code_used(code: str) -> bool:
    """Whether the sandbox has seen this authorisation code exchanged."""
    digest = _sha256(code)
    return any(c["used"] for g in grants() for c in g["authorizationCodes"] if c["codeSha256"] == digest)


def sandbox_ready(base_url: str) -> None:
    """Seed the sandbox's organisations and register the portal's app for base_url."""
    call_command("sandbox_seed", verbosity=0)
    call_command(
        "sandbox_app", "Bank feeds portal", redirect_uris=[f"{base_url}/portal/xero/callback"],
        client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET, stdout=open("/dev/null", "w"),
    )


def tenant_id(name: str) -> str:
    """The tenant id of the sandbox organisation with this name."""
    return next(o["tenantId"] for o in _sandbox("/organisations.json")["organisations"] if o["name"] == name)


def authorize(connection, *, tenants=(UK,)) -> tuple[dict, dict]:
    """Start OAuth through our service and approve at the sandbox; returns (session, callback params)."""
    from apps.xero_auth import oauth

    session = {}
    url = oauth.oauth_start(connection=connection, session=session)
    response = requests.get(url, params={"sandbox_approve": [tenant_id(t) for t in tenants]},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    return session, query


def link(connection, *, tenant=UK):
    """The whole OAuth dance through our services; the connection ends Linked to `tenant`."""
    from apps.xero_auth import connections, oauth

    session, query = authorize(connection, tenants=(tenant,))
    connection, organisations = oauth.oauth_callback(session=session, params=query)
    return connections.connection_link(connection=connection, organisation=organisations[0])


def connect_feed(source_account, *, feed_start_date=None):
    """Create the source account's Xero feed connection through our own client and mark it
    connected (the mapping service does the same; this keeps push tests independent of it)."""
    import uuid

    from django.utils import timezone

    from apps.core.dates import one_year_before
    from apps.feeds.models import FeedConnection, FeedStatus, SourceAccountStatus
    from apps.xero_auth import client, tokens

    token = f"bf-{uuid.uuid4().hex[:24]}"
    feed_id = tokens.xero_call(source_account.connection, client.create_feed_connection, item={
        "accountToken": token, "accountNumber": source_account.account_number, "accountName":
        (source_account.account_name or "Feed")[:30], "accountType": "BANK", "currency": source_account.currency,
    })
    feed = FeedConnection.objects.create(
        source_account=source_account, xero_feed_connection_id=feed_id, account_token=token,
        status=FeedStatus.CONNECTED, connected_at=timezone.now(), feed_start_date=feed_start_date)
    source_account.status = SourceAccountStatus.CONNECTED
    # Without a date of its own the feed takes everything Xero would (a year back), so the
    # push tests' batches, dated a few days ago, are all sent.
    source_account.feed_start_date = feed_start_date or one_year_before(timezone.localdate())
    source_account.save()
    return feed
