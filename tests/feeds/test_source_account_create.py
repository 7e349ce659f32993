"""Create source account: v1 and v2 bodies, and the rules Codat and Xero impose."""

import pytest

from apps.feeds import serializers, source_accounts
from apps.feeds.models import SourceAccount
from apps.feeds.serializers import read_source_account

from .accounts_support import accounts_url, v1_body, v2_body

pytestmark = pytest.mark.django_db


def errors_of(response):
    return {e["itemId"]: e["message"] for e in response.json()["validation"]["errors"]}


def test_it_creates_a_v2_account_and_answers_in_v2_shape(partner_a, connection):
    response = partner_a.post(accounts_url(connection), v2_body(), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == "acc-001"
    assert body["accountType"] == "checking"
    assert body["status"] == "pending"
    assert body["balance"] == 99.99
    assert body["routingInfo"] == {"bankCode": "400000", "type": "sortcode"}
    assert body["accountInfo"]["nickname"] == "main"
    assert "feedStartDate" not in body
    assert body["modifiedDate"].endswith("Z")
    account = SourceAccount.objects.get(connection=connection, account_id="acc-001")
    assert (account.api_version, account.status) == ("v2", "pending")


def test_it_creates_a_v1_account_and_answers_in_v1_shape(partner_a, connection):
    response = partner_a.post(accounts_url(connection), v1_body(accountType="credit"), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accountType"] == "Credit"
    assert body["sortCode"] == "123456"
    assert "routingInfo" not in body
    assert "accountInfo" not in body
    assert SourceAccount.objects.get(account_id="acc-002").api_version == "v1"


# Codat's v1 schema requires only an id, but an account without a currency could never be
# fed to Xero (and its answer would carry a currency of null, which the schema does not
# allow): as Codat's Xero guide says, v1 needs the currency too.
def test_a_v1_body_needs_an_id_and_a_currency(partner_a, connection):
    refused = partner_a.post(accounts_url(connection), {"id": "only-id"}, format="json")
    assert refused.status_code == 400
    assert errors_of(refused) == {"currency": "currency is required."}
    assert not SourceAccount.objects.exists()

    response = partner_a.post(accounts_url(connection), {"id": "only-id", "currency": "USD"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["currency"] == "USD"
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize("currency", [{}, [], 826, None], ids=["object", "array", "number", "null"])
def test_a_currency_that_is_not_a_string_is_a_400_naming_it(partner_a, connection, currency):
    for body in (v2_body(currency=currency), v1_body(currency=currency)):
        response = partner_a.post(accounts_url(connection), body, format="json")

        assert response.status_code == 400, response.content
        assert "currency" in errors_of(response)
    assert not SourceAccount.objects.exists()


def test_a_v1_body_on_a_v2_connection_is_refused_naming_the_version(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")

    response = partner_a.post(accounts_url(connection), v1_body(), format="json")

    assert response.status_code == 400
    message = errors_of(response)["accountType"]
    assert "are v2" in message and "checking, savings, creditCard or prepaidCard" in message
    assert list(SourceAccount.objects.values_list("account_id", flat=True)) == ["acc-001"]


def test_a_v2_body_on_a_v1_connection_is_refused_naming_the_version(partner_a, connection):
    partner_a.post(accounts_url(connection), v1_body(), format="json")

    response = partner_a.post(accounts_url(connection), v2_body(), format="json")

    assert response.status_code == 400
    assert "are v1" in errors_of(response)["accountType"]
    assert list(SourceAccount.objects.values_list("account_id", flat=True)) == ["acc-002"]


def test_a_body_that_does_not_say_its_version_is_read_in_the_connections(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")

    response = partner_a.post(accounts_url(connection), {"id": "x", "currency": "USD"}, format="json")

    assert response.status_code == 400
    assert set(errors_of(response)) == {"accountName", "accountNumber", "accountType", "balance"}


def test_an_emptied_connection_takes_either_version_again(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")
    partner_a.delete(accounts_url(connection, "acc-001"))

    response = partner_a.post(accounts_url(connection), v1_body(), format="json")

    assert response.status_code == 200, response.json()


def test_it_itemises_missing_v2_fields(partner_a, connection):
    response = partner_a.post(accounts_url(connection), {"id": "x", "accountType": "savings"}, format="json")

    assert response.status_code == 400
    assert set(errors_of(response)) == {"accountName", "accountNumber", "currency", "balance"}
    assert not SourceAccount.objects.exists()


def test_it_refuses_a_duplicate_id_naming_it(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")

    response = partner_a.post(accounts_url(connection), v2_body(accountName="Other"), format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"id": source_accounts.SOURCE_ACCOUNT_DUPLICATE.format(id="acc-001")}
    assert "acc-001" in response.json()["validation"]["errors"][0]["message"]
    assert SourceAccount.objects.count() == 1


@pytest.mark.parametrize("body", [v2_body(sortCode=None), v1_body(sortCode=...)])
def test_gbp_accounts_need_a_sort_code(partner_a, connection, body):
    response = partner_a.post(accounts_url(connection), body, format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"sortCode": serializers.SORT_CODE_REQUIRED}


def test_other_currencies_need_no_sort_code(partner_a, connection):
    response = partner_a.post(accounts_url(connection), v2_body(currency="USD", sortCode=None), format="json")

    assert response.status_code == 200, response.json()


def test_a_loan_account_is_refused_because_xero_feeds_bank_and_card_accounts_only(partner_a, connection):
    response = partner_a.post(accounts_url(connection), v2_body(accountType="loan"), format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"accountType": serializers.ACCOUNT_TYPE_NOT_FOR_XERO.format(type="loan")}


@pytest.mark.parametrize("account_type", ["creditCard", "prepaidCard", "savings"])
def test_bank_and_card_types_are_accepted(partner_a, connection, account_type):
    response = partner_a.post(accounts_url(connection), v2_body(accountType=account_type), format="json")

    assert response.status_code == 200, response.json()


def test_an_unknown_account_type_is_refused(partner_a, connection):
    response = partner_a.post(accounts_url(connection), v2_body(accountType="mortgage"), format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"accountType": serializers.ACCOUNT_TYPE_INVALID}


@pytest.mark.parametrize("currency", ["gbp", "POUNDS", "XYZ", 826])
def test_the_currency_must_be_an_iso_code(partner_a, connection, currency):
    response = partner_a.post(accounts_url(connection), v2_body(currency=currency), format="json")

    assert response.status_code == 400
    assert errors_of(response) == {"currency": serializers.CURRENCY_INVALID}


def test_bad_types_are_itemised_by_field(partner_a, connection):
    body = v2_body(balance="lots", accountName=7, accountInfo={"accountOpenDate": "yesterday"},
                   routingInfo={"type": "postcode"})

    response = partner_a.post(accounts_url(connection), body, format="json")

    assert response.status_code == 400
    assert set(errors_of(response)) == {"balance", "accountName", "accountInfo.accountOpenDate", "routingInfo.type"}


def test_a_body_that_is_not_an_object_is_refused(partner_a, connection):
    response = partner_a.post(accounts_url(connection), [v2_body()], format="json")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


def test_the_service_takes_what_the_api_reads_from_the_same_bodies(connection):
    account = source_accounts.source_account_create(connection=connection,
                                                     **read_source_account(v2_body(accountType="creditCard")))

    assert source_accounts.xero_account_type(account) == "CREDITCARD"
    with pytest.raises(source_accounts.SourceAccountRefused) as refused:
        source_accounts.source_account_create(connection=connection, **read_source_account(v2_body()))
    assert refused.value.errors[0]["itemId"] == "id"
