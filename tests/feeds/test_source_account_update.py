"""Update source account: accountName, status (to disconnected) and balance (while not
connected) only; anything else that changes is refused naming the field."""

from decimal import Decimal

import pytest

from apps.feeds import serializers, source_accounts
from apps.feeds.models import SourceAccount

from .accounts_support import accounts_url, v1_body, v2_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")
    return SourceAccount.objects.get(account_id="acc-001")


def errors_of(response):
    return {e["itemId"]: e["message"] for e in response.json()["validation"]["errors"]}


def test_it_renames_and_rebalances_a_pending_account(partner_a, connection, account):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {"accountName": "Renamed", "balance": 12.5},
                               format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["accountName"], response.json()["balance"]) == ("Renamed", 12.5)
    account.refresh_from_db()
    assert (account.account_name, account.balance) == ("Renamed", Decimal("12.5"))


def test_it_accepts_the_whole_account_sent_back_unchanged(partner_a, connection, account):
    current = partner_a.get(accounts_url(connection)).json()[0]

    response = partner_a.patch(accounts_url(connection, "acc-001"), {**current, "accountName": "New name"},
                               format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["accountName"] == "New name"


@pytest.mark.parametrize(("field", "value"), [("accountNumber", "999"), ("currency", "USD"),
                                              ("accountType", "savings"), ("sortCode", "11-11-11")])
def test_it_refuses_to_change_other_fields(partner_a, connection, account, field, value):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {field: value, "accountName": "X"},
                               format="json")

    assert response.status_code == 400
    assert errors_of(response) == {field: serializers.UPDATE_FIELD_FIXED.format(field=field)}
    account.refresh_from_db()
    assert account.account_name == "Business Current"


def test_status_can_only_become_disconnected(partner_a, connection, account):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {"status": "connected"}, format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"status": source_accounts.UPDATE_STATUS_ONLY_DISCONNECTED}


def test_a_pending_account_is_disconnected_without_asking_xero(partner_a, connection, account):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {"status": "disconnected"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "disconnected"


def test_the_balance_of_a_connected_account_is_fixed(partner_a, connection, account):
    SourceAccount.objects.filter(pk=account.pk).update(status="connected")

    response = partner_a.patch(accounts_url(connection, "acc-001"), {"balance": 1}, format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"balance": source_accounts.UPDATE_BALANCE_CONNECTED}


def test_the_id_cannot_change(partner_a, connection, account):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {"id": "other"}, format="json")

    assert response.status_code == 400
    assert set(errors_of(response)) == {"id"}


def test_a_v1_account_is_answered_in_v1_shape(partner_a, connection):
    partner_a.post(accounts_url(connection), v1_body(), format="json")

    response = partner_a.patch(accounts_url(connection, "acc-002"), {"id": "acc-002", "accountName": None},
                               format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["accountName"] is None
    assert response.json()["accountType"] == "Credit"


def test_a_v2_account_is_answered_in_codats_v1_shape_as_its_spec_says(partner_a, connection, account):
    response = partner_a.patch(accounts_url(connection, "acc-001"), {"accountName": "Renamed"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"id", "accountName", "accountType", "accountNumber", "sortCode", "currency", "balance",
                         "modifiedDate", "status"}
    assert (body["accountType"], body["currency"]) == ("checking", "GBP")
    listed = partner_a.get(accounts_url(connection)).json()[0]
    assert listed["routingInfo"] == {"bankCode": "400000", "type": "sortcode"}  # kept, and listed in v2


def test_an_unknown_account_is_404(partner_a, connection):
    response = partner_a.patch(accounts_url(connection, "nope"), {"accountName": "X"}, format="json")

    assert response.status_code == 404
