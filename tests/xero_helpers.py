"""Test helpers that drive the real flows against the embedded sandbox over HTTP:
register the portal's app, run the OAuth dance through our own services, connect a
feed through our own client."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.core.management import call_command

UK = "Demo Company (UK)"
AU = "Demo Company (AU)"


def sandbox_ready(base_url: str) -> None:
    """Seed the sandbox's organisations and register the portal's app for base_url."""
    call_command("sandbox_seed", verbosity=0)
    call_command(
        "sandbox_app", "Bank feeds portal", redirect_uris=[f"{base_url}/portal/xero/callback"],
        client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET, stdout=open("/dev/null", "w"),
    )


def tenant_id(name: str) -> str:
    from apps.xero_sandbox.models import Organisation

    return str(Organisation.objects.get(name=name).tenant_id)


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
