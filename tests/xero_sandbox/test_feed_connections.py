import pytest

from apps.xero_sandbox.models import BankAccount, FeedConnection, Organisation

from .conftest import AU

pytestmark = pytest.mark.django_db

FC = "bankfeeds.xro/1.0/FeedConnections"


def item(**overrides):
    base = {
        "accountToken": "tok-1",
        "accountNumber": "99-88-77 12345678",
        "accountName": "New feed",
        "accountType": "BANK",
        "currency": "GBP",
    }
    return {**base, **overrides}


def post(sandbox, access, *items, tenant="Demo Company (UK)", headers=None):
    return sandbox.api("POST", FC, token=access, tenant=tenant, json={"items": list(items)}, headers=headers)


def rejected_type(response):
    assert response.status_code == 400, response.text
    errors = [i["error"]["type"] for i in response.json()["items"] if i["status"] == "REJECTED"]
    assert len(errors) == 1
    return errors[0]


def test_it_creates_a_feed_and_a_new_xero_bank_account(sandbox, access):
    response = post(sandbox, access, item())
    assert response.status_code == 202
    [answer] = response.json()["items"]
    assert answer["status"] == "PENDING"
    fc = FeedConnection.objects.get(pk=answer["id"])
    assert fc.bank_account.name == "New feed"
    assert fc.bank_account.currency == "GBP"


def test_it_reads_feeds_back_with_200(sandbox, access, feed):
    listing = sandbox.api("GET", FC, token=access)
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["items"]] == [feed]
    one = sandbox.api("GET", f"{FC}/{feed}", token=access)
    assert one.status_code == 200
    assert one.json()["accountToken"] == "tok-gbp-1"


def test_it_matches_an_existing_account_by_number(sandbox, access):
    before = BankAccount.objects.count()
    response = post(sandbox, access, item(accountNumber="20-00-00 12345678", accountName=None))
    assert response.status_code == 202
    assert BankAccount.objects.count() == before


def test_it_matches_an_existing_account_by_id(sandbox, access):
    account = BankAccount.objects.get(name="USD Account")
    response = post(sandbox, access, item(accountNumber=None, accountId=str(account.account_id), currency="USD"))
    assert response.status_code == 202
    assert FeedConnection.objects.get().bank_account == account


def test_a_connected_token_is_rejected_in_the_same_organisation(sandbox, access, feed):
    response = post(sandbox, access, item(accountToken="tok-gbp-1"))
    assert rejected_type(response) == "feed-already-connected-in-current-organisation"


def test_mixed_results_come_back_in_a_400_envelope(sandbox, access, feed):
    response = post(sandbox, access, item(accountToken="tok-gbp-1"), item(accountToken="tok-new"))
    assert response.status_code == 400
    statuses = sorted(i["status"] for i in response.json()["items"])
    assert statuses == ["PENDING", "REJECTED"]


def test_a_foreign_currency_needs_multi_currency(sandbox):
    access = sandbox.connect(tenants=(AU,))["access_token"]
    response = post(sandbox, access, item(currency="GBP"), tenant=AU)
    assert rejected_type(response) == "invalid-organisation-multi-currency"


def test_an_organisation_without_bank_feeds_is_rejected(sandbox, access):
    Organisation.objects.filter(name="Demo Company (UK)").update(bank_feeds_enabled=False)
    assert rejected_type(post(sandbox, access, item())) == "invalid-organisation-bank-feeds"


@pytest.mark.parametrize(
    "overrides",
    [
        {"accountToken": "x" * 51},
        {"accountNumber": "1" * 41},
        {"accountName": "n" * 31},
        {"accountType": "CREDITCARD", "accountNumber": "12345"},
        {"accountType": "LOAN"},
        {"currency": None},
        {"accountNumber": None},
    ],
)
def test_field_rules_reject_the_item_with_invalid_request(sandbox, access, overrides):
    assert rejected_type(post(sandbox, access, item(**overrides))) == "invalid-request"


def test_an_unknown_account_id_is_not_valid(sandbox, access):
    response = post(sandbox, access, item(accountNumber=None, accountId="00000000-0000-0000-0000-000000000001"))
    assert rejected_type(response) == "account-not-valid"


def test_a_bad_country_is_rejected(sandbox, access):
    assert rejected_type(post(sandbox, access, item(country="GBR"))) == "invalid-country-specified"


def test_delete_requests_disconnect_the_feed_and_keep_the_account(sandbox, access, feed):
    path = f"{FC}/DeleteRequests"
    response = sandbox.api("POST", path, token=access, json={"items": [{"id": feed}]})
    assert response.status_code == 202
    assert response.json()["items"][0]["status"] == "PENDING"
    again = sandbox.api("POST", path, token=access, json={"items": [{"id": feed}]})
    assert again.json()["items"][0]["error"]["type"] == "feed-not-found-or-already-deleted"
    assert sandbox.api("GET", f"{FC}/{feed}", token=access).status_code == 404
    assert BankAccount.objects.filter(name="Feed GBP").exists()


def test_an_idempotency_key_replays_the_answer(sandbox, access):
    headers = {"Idempotency-Key": "key-1"}
    first = post(sandbox, access, item(), headers=headers)
    second = post(sandbox, access, item(), headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert FeedConnection.objects.count() == 1
    different = post(sandbox, access, item(accountToken="other"), headers=headers)
    assert different.status_code == 400
    assert different.json()["type"] == "invalid-request"


def test_bankfeeds_needs_the_scope(sandbox):
    access = sandbox.connect(scope="offline_access accounting.settings.read")["access_token"]
    response = sandbox.api("GET", FC, token=access, contract=False)
    assert response.status_code == 403
    assert response.json()["type"] == "invalid-application"


def test_an_unconnected_tenant_is_forbidden(sandbox, access):
    response = sandbox.api("GET", FC, token=access, tenant=AU, contract=False)
    assert response.status_code == 403
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"


def test_a_missing_token_is_401(sandbox):
    response = sandbox.api("GET", FC, token="nope", contract=False)
    assert response.status_code == 401
    assert response.json()["Title"] == "Unauthorized"
