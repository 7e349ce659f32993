"""Delete a source account, and disconnect its feed (PATCH status): the feed stops at
Xero (the sandbox's feed connection is deleted) while the Xero bank account stays."""

import pytest

from apps.feeds.models import FeedConnection, SourceAccount
from tests.feeds.push_support import add_fault
from tests.xero_helpers import live_feeds, organisation, xero_account

from .accounts_support import accounts_url, create_account, mapping_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mapped(partner_a, linked_connection):
    """A source account fed into the UK organisation's Business Bank Account."""
    account = create_account(partner_a, linked_connection, id="acc")
    target = xero_account("Business Bank Account")
    response = partner_a.post(mapping_url(linked_connection),
                              {"sourceAccountId": "acc", "targetAccountId": target["accountId"]}, format="json")
    assert response.json()["status"] == "connected", response.json()
    return account, target


def test_deleting_a_connected_account_stops_the_feed_at_xero(partner_a, linked_connection, mapped):
    account, target = mapped

    response = partner_a.delete(accounts_url(linked_connection, "acc"))

    assert response.status_code == 204
    assert not SourceAccount.objects.filter(pk=account.pk).exists()
    assert not FeedConnection.objects.exists()
    assert not live_feeds(target)
    [feed] = [f for f in organisation()["feedConnections"] if f["accountId"] == target["accountId"]]
    assert feed["status"] == "DELETED"
    assert xero_account("Business Bank Account")["status"] == "ACTIVE"


def test_deleting_a_pending_account_needs_no_xero(partner_a, connection):
    create_account(partner_a, connection, id="acc")

    assert partner_a.delete(accounts_url(connection, "acc")).status_code == 204
    assert not SourceAccount.objects.exists()


def test_xero_unavailable_leaves_the_account_and_its_feed(partner_a, linked_connection, mapped, xero_on_live_server):
    account, target = mapped
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/FeedConnections/DeleteRequests", status=503)

    response = partner_a.delete(accounts_url(linked_connection, "acc"))

    assert response.status_code == 503
    account.refresh_from_db()
    assert account.status == "connected"
    assert live_feeds(target)


def test_patching_status_to_disconnected_stops_the_feed_and_keeps_the_row(partner_a, linked_connection, mapped):
    account, target = mapped

    response = partner_a.patch(accounts_url(linked_connection, "acc"), {"status": "disconnected"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "disconnected"
    assert "feedStartDate" not in response.json()
    account.refresh_from_db()
    assert account.status == "disconnected"
    assert account.feeds.get().status == "disconnected"
    assert not live_feeds(target)
    # Disconnected, it may be mapped again: the Xero account is an option once more.
    options = partner_a.get(mapping_url(linked_connection)).json()[0]["targetAccountOptions"]
    assert target["accountId"] in {o["id"] for o in options}
    again = partner_a.post(mapping_url(linked_connection),
                           {"sourceAccountId": "acc", "targetAccountId": target["accountId"]}, format="json")
    assert again.json()["status"] == "connected", again.json()
