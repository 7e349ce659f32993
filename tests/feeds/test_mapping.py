"""Account mapping against the embedded Xero sandbox over real HTTP: options filtered
by currency, type and use; mapping to an existing or a new Xero account; Xero's refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feeds import mapping
from apps.feeds.models import FeedConnection, FeedStatus, SourceAccount
from tests.factories import CompanyFactory
from tests.feeds.push_support import add_fault
from tests.xero_helpers import AU, link, live_feeds, sandbox_ready, xero_account

from .accounts_support import create_account, mapping_url

pytestmark = pytest.mark.django_db(transaction=True)


def options_by_account(partner, connection):
    response = partner.get(mapping_url(connection))
    assert response.status_code == 200, response.json()
    return {m["sourceAccountId"]: m for m in response.json()}


def map_account(partner, connection, source_id, target=None, **extra):
    body = {"sourceAccountId": source_id, **extra}
    if target is not None:
        body["targetAccountId"] = target["accountId"]
    return partner.post(mapping_url(connection), body, format="json")


def test_options_match_currency_and_type(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="gbp-bank")
    create_account(partner_a, linked_connection, id="gbp-card", accountType="creditCard",
                   accountNumber="5555444433332222")
    create_account(partner_a, linked_connection, id="usd", accountType="savings", currency="USD", sortCode=None)
    create_account(partner_a, linked_connection, id="jpy", currency="JPY", sortCode=None)

    mappings = options_by_account(partner_a, linked_connection)

    names = {k: sorted(o["name"] for o in m["targetAccountOptions"]) for k, m in mappings.items()}
    assert names == {
        "gbp-bank": ["Business Bank Account", "Business Savings Account"],
        "gbp-card": ["Company Credit Card"],
        "usd": ["USD Account"],
        "jpy": [],
    }
    bank = mappings["gbp-bank"]
    assert (bank["status"], bank["sourceCurrency"], bank["sourceBalance"]) == ("pending", "GBP", 99.99)
    assert bank["targetAccountId"] is None
    assert bank["feedStartDate"] is None
    option = next(o for o in bank["targetAccountOptions"] if o["name"] == "Business Bank Account")
    assert (option["sortCode"], option["accountNumber"]) == ("20-00-00", "12345678")


def test_it_maps_to_an_existing_xero_account_and_hides_it_from_other_options(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="first")
    create_account(partner_a, linked_connection, id="second")
    target = xero_account("Business Savings Account")
    start = timezone.localdate() - timedelta(days=30)

    response = map_account(partner_a, linked_connection, "first", target, feedStartDate=f"{start}T00:00:00.000Z")

    assert response.status_code == 200, response.json()
    assert response.json() == {"sourceAccountId": "first", "targetAccountId": target["accountId"],
                               "status": "connected", "error": None}
    account = SourceAccount.objects.get(account_id="first")
    assert (account.status, account.feed_start_date) == ("connected", start)
    feed = account.feeds.get()
    assert (feed.status, feed.target_account_name) == ("connected", "Business Savings Account")
    [sandbox_feed] = live_feeds(target)
    assert (sandbox_feed["id"], sandbox_feed["accountToken"]) == (str(feed.xero_feed_connection_id),
                                                                  feed.account_token)
    mappings = options_by_account(partner_a, linked_connection)
    assert mappings["first"]["targetAccountName"] == "Business Savings Account"
    assert mappings["first"]["feedStartDate"] == f"{start}T00:00:00"
    assert [o["name"] for o in mappings["second"]["targetAccountOptions"]] == ["Business Bank Account"]


def test_without_a_target_xero_creates_an_account_named_after_the_source(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="new", accountName="Partner Bank Everyday Account Plus",
                   accountNumber="99990001")

    response = map_account(partner_a, linked_connection, "new")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "connected"
    created = xero_account(response.json()["targetAccountId"])
    assert created["name"] == "Partner Bank Everyday Account "  # Xero's 30-character accountName
    assert (created["currency"], created["type"]) == ("GBP", "BANK")
    account = SourceAccount.objects.get(account_id="new")
    assert account.feed_start_date == timezone.localdate()
    assert account.feeds.get().target_account_name == created["name"]


def test_a_credit_card_is_fed_with_its_last_four_digits(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="card", accountType="creditCard",
                   accountNumber="5555 4444 3333 9876")

    response = map_account(partner_a, linked_connection, "card")

    assert response.json()["status"] == "connected", response.json()
    created = xero_account(response.json()["targetAccountId"])
    assert (created["type"], created["accountNumber"]) == ("CREDITCARD", "9876")


def test_xero_refusing_the_same_account_twice_comes_back_as_failed(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="one")
    create_account(partner_a, linked_connection, id="two")
    target = xero_account("Business Bank Account")
    map_account(partner_a, linked_connection, "one", target)

    response = map_account(partner_a, linked_connection, "two", target)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["targetAccountId"]) == ("Failed", target["accountId"])
    assert "already has a feed connection" in body["error"]
    account = SourceAccount.objects.get(account_id="two")
    assert account.status == "pending"
    assert account.feeds.get().status == FeedStatus.REFUSED
    assert len(live_feeds(target)) == 1


def test_a_foreign_currency_in_an_organisation_without_multi_currency_fails(partner_a, xero_on_live_server):
    from apps.xero_auth.connections import connection_create

    sandbox_ready(xero_on_live_server)
    connection = link(connection_create(company=CompanyFactory(partner=partner_a.partner)), tenant=AU)
    create_account(partner_a, connection, id="usd", currency="USD", sortCode=None)

    response = map_account(partner_a, connection, "usd")

    assert response.json()["status"] == "Failed"
    assert "multi-currency" in response.json()["error"]
    assert SourceAccount.objects.get(account_id="usd").status == "pending"


def test_an_already_connected_account_fails_without_asking_xero(partner_a, linked_connection):
    create_account(partner_a, linked_connection, id="acc")
    map_account(partner_a, linked_connection, "acc")
    feeds_at_xero = len(live_feeds())

    response = map_account(partner_a, linked_connection, "acc", xero_account("Business Bank Account"))

    assert response.json()["status"] == "Failed"
    assert response.json()["error"] == mapping.MAPPING_ALREADY_CONNECTED
    assert len(live_feeds()) == feeds_at_xero


@pytest.mark.parametrize("days", [-1, 367])
def test_the_feed_start_date_is_within_the_last_year(partner_a, linked_connection, days):
    create_account(partner_a, linked_connection, id="acc")
    start = timezone.localdate() - timedelta(days=days)

    response = map_account(partner_a, linked_connection, "acc", feedStartDate=start.isoformat())

    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0] == {
        "itemId": "feedStartDate", "message": mapping.MAPPING_START_DATE_RANGE, "validatorName": None}
    assert not live_feeds()


def test_an_unknown_source_account_is_refused(partner_a, linked_connection):
    response = map_account(partner_a, linked_connection, "ghost")

    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0]["itemId"] == "sourceAccountId"


def test_xero_unavailable_is_a_503_and_changes_nothing(partner_a, linked_connection, xero_on_live_server):
    create_account(partner_a, linked_connection, id="acc")
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/FeedConnections", method="POST", status=503)

    response = map_account(partner_a, linked_connection, "acc")

    assert response.status_code == 503
    assert response.json()["canBeRetried"] == "True"
    assert SourceAccount.objects.get(account_id="acc").status == "pending"
    assert not FeedConnection.objects.exists()
    assert not live_feeds()


def test_xero_rate_limit_is_a_429_with_retry_after(partner_a, linked_connection, xero_on_live_server):
    create_account(partner_a, linked_connection, id="acc")
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/FeedConnections", method="POST", status=429,
              retryAfter=7)

    response = map_account(partner_a, linked_connection, "acc")

    assert response.status_code == 429
    assert response["Retry-After"] == "7"


def test_a_connection_that_is_not_linked_is_refused(partner_a, connection):
    create_account(partner_a, connection, id="acc")

    # Codat's get-bank-account-mapping lists no 400 (its SDK would not type the error).
    listed = partner_a.get(mapping_url(connection))
    assert listed.status_code == 403
    assert "PendingAuth" in listed.json()["error"]
    response = map_account(partner_a, connection, "acc")
    assert response.status_code == 400
    assert "PendingAuth" in response.json()["error"]
