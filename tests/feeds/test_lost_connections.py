"""Lost connections are noticed: Xero answering 403 for the organisation (the user
disconnected the app in Xero) or refusing the grant marks the connection Deauthorized;
the relay's daily check finds it without a push; a feed Xero no longer has disconnects its
source account; the accounts of a lost connection stop reading as connected, and map
again once the company reconnects."""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from apps.feeds.models import DisconnectReason, FeedConnection, SourceAccount
from apps.webhooks import relay
from apps.webhooks.models import Event
from apps.xero_auth import client, connections, oauth, refusals, tokens
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.factories import CompanyFactory
from tests.feeds.accounts_support import mapping_url
from tests.feeds.push_support import batch, push_url
from tests.xero_helpers import AU, UK, authorize, connect_feed, link, sandbox_ready, tenant_id

pytestmark = pytest.mark.django_db(transaction=True)


def disconnect_in_xero(base, tenant):
    response = requests.post(f"{base}/xero-sandbox/_control/disconnect",
                             json={"tenantId": tenant_id(tenant), "clientId": "sandbox-portal-client"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def two_org_connection(xero_on_live_server, partner_a):
    """A connection linked to the UK organisation by a consent that also covers AU, so
    disconnecting UK in Xero leaves the grant (Xero then answers 403 for UK)."""
    sandbox_ready(xero_on_live_server)
    connection = connections.connection_create(company=CompanyFactory(partner=partner_a.partner))
    session, query = authorize(connection, tenants=(UK, AU))
    connection, organisations = oauth.oauth_callback(session=session, params=query)
    uk = next(o for o in organisations if o.tenant_name == UK)
    return connections.connection_link(connection=connection, organisation=uk)


def account_of(connection, account_id="acc-1"):
    account = SourceAccount.objects.create(
        connection=connection, account_id=account_id, account_name="Business Current", account_type="checking",
        account_number="12345678", sort_code="40-00-00", currency="GBP", balance=Decimal("1000.00"))
    connect_feed(account)
    return account


def event_types():
    return list(Event.objects.order_by("generated").values_list("event_type", flat=True))


def test_a_403_for_the_organisation_marks_the_connection_deauthorized_and_its_accounts_disconnected(
        partner_a, two_org_connection, xero_on_live_server):
    account = account_of(two_org_connection)
    Event.objects.all().delete()
    assert disconnect_in_xero(xero_on_live_server, UK)["grantsRevoked"] == 0

    response = partner_a.post(push_url(account), {"accountId": "acc-1", "transactions": batch(2)}, format="json")
    assert response.status_code == 400
    assert "Deauthorized" in response.json()["error"]
    connection = XeroConnection.objects.get(pk=two_org_connection.pk)
    assert connection.status == ConnectionStatus.DEAUTHORIZED
    assert connection.data_connection_errors[-1]["statusCode"] == "403"
    account.refresh_from_db()
    assert (account.status, account.disconnect_reason) == ("disconnected", DisconnectReason.CONNECTION_LOST)
    assert event_types() == ["bankFeeds.sourceAccount.disconnected", "connection.disconnected",
                             "bankTransactions.write.unsuccessful"]
    listed = partner_a.get(f"/api/companies/{connection.company_id}/connections/{connection.pk}/connectionInfo/"
                           "bankFeedAccounts").json()
    assert [a["status"] for a in listed] == ["disconnected"]


def test_a_401_after_a_fresh_token_marks_the_connection_deauthorized(linked_connection, xero_on_live_server):
    requests.post(f"{xero_on_live_server}/xero-sandbox/_faults", json={
        "operation": "api.xro/2.0/Organisation", "status": 401, "count": 2}, timeout=10)
    with pytest.raises(refusals.ConnectionRefused):
        tokens.xero_call(linked_connection, client.get_organisation)
    assert XeroConnection.objects.get(pk=linked_connection.pk).status == ConnectionStatus.DEAUTHORIZED
    assert "connection.disconnected" in event_types()


def test_the_daily_check_finds_an_organisation_disconnected_in_xero(two_org_connection, xero_on_live_server):
    assert relay.connections_check() == 0  # linked just now: checked today
    XeroConnection.objects.filter(pk=two_org_connection.pk).update(checked_at=None)
    assert relay.connections_check() == 1
    assert XeroConnection.objects.get(pk=two_org_connection.pk).status == ConnectionStatus.LINKED
    assert relay.connections_check() == 0  # once a day

    disconnect_in_xero(xero_on_live_server, UK)
    XeroConnection.objects.filter(pk=two_org_connection.pk).update(checked_at=None)
    assert relay.connections_check() == 1
    connection = XeroConnection.objects.get(pk=two_org_connection.pk)
    assert connection.status == ConnectionStatus.DEAUTHORIZED
    assert connection.data_connection_errors[-1]["statusText"] == connections.DISCONNECTED_IN_XERO


def test_the_daily_check_after_the_last_organisation_goes_finds_the_grant_revoked(linked_connection,
                                                                                  xero_on_live_server):
    assert disconnect_in_xero(xero_on_live_server, UK)["grantsRevoked"] == 1
    XeroConnection.objects.filter(pk=linked_connection.pk).update(checked_at=None)
    relay.connections_check()
    assert XeroConnection.objects.get(pk=linked_connection.pk).status == ConnectionStatus.DEAUTHORIZED


def test_a_feed_xero_no_longer_has_disconnects_its_source_account(partner_a, connected_account):
    feed = connected_account.feeds.get()
    tokens.xero_call(connected_account.connection, client.delete_feed_connections,
                     feed_connection_ids=[str(feed.xero_feed_connection_id)])
    Event.objects.all().delete()

    body = partner_a.post(push_url(connected_account), {"accountId": "acc-1", "transactions": batch(2)},
                          format="json").json()
    assert body["status"] == "Failed"
    assert body["validation"]["errors"][0]["validatorName"] == "invalid-feed-connection"
    connected_account.refresh_from_db()
    assert (connected_account.status, connected_account.disconnect_reason) == (
        "disconnected", DisconnectReason.FEED_REFUSED)
    assert FeedConnection.objects.get(pk=feed.pk).status == "disconnected"
    assert event_types() == ["bankTransactions.write.unsuccessful", "bankFeeds.sourceAccount.disconnected"]


def test_after_unlinking_and_linking_again_the_account_maps_again(partner_a, connected_account):
    connection = connected_account.connection
    url = f"/api/companies/{connection.company_id}/connections/{connection.pk}"
    assert partner_a.patch(url, {"status": "Unlinked"}, format="json").json()["status"] == "Unlinked"
    accounts = partner_a.get(f"{url}/connectionInfo/bankFeedAccounts").json()
    assert [a["status"] for a in accounts] == ["disconnected"]
    old_feed = connected_account.feeds.get()
    assert old_feed.left_at_xero

    link(XeroConnection.objects.get(pk=connection.pk))
    # From before the batch's lines (a feed sends nothing dated before its start).
    start = (timezone.now() - timedelta(days=30)).date().isoformat()
    mapped = partner_a.post(mapping_url(connection), {"sourceAccountId": "acc-1", "feedStartDate": start},
                            format="json")
    assert mapped.status_code == 200, mapped.json()
    assert mapped.json()["status"] == "connected"
    assert not FeedConnection.objects.get(pk=old_feed.pk).left_at_xero
    pushed = partner_a.post(push_url(connected_account), {"accountId": "acc-1", "transactions": batch(2)},
                            format="json")
    assert pushed.json()["status"] == "Pending", pushed.json()
