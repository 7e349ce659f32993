"""Each validation rule refuses the batch with a 400 ErrorMessage naming the transaction
and the rule, before anything reaches Xero; only the failed operation is stored."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.feeds.models import BankTransaction, PushOperation, SourceAccount
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.factories import FeedConnectionFactory
from tests.feeds.push_support import batch, push_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(partner_a):
    """A connected account on a Linked connection. Its organisation is never called:
    every batch here is refused before that."""
    feed = FeedConnectionFactory(source_account__connection__company__partner=partner_a.partner,
                                 source_account__account_id="acc-1", source_account__account_name="Current")
    return feed.source_account


def push(partner, account, transactions, account_id=None):
    body = {"accountId": account_id or account.account_id, "transactions": transactions}
    return partner.post(push_url(account), body, format="json")


def refused(response, item_id, validator):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["statusCode"] == 400
    assert {"itemId": item_id, "validatorName": validator} in [
        {"itemId": e["itemId"], "validatorName": e["validatorName"]} for e in body["validation"]["errors"]], body
    operation = PushOperation.objects.get(push_operation_key=body["correlationId"])
    assert operation.status == "Failed"
    assert not BankTransaction.objects.exists()
    return body


def test_the_source_account_must_exist(partner_a, account):
    refused(push(partner_a, account, batch(1), account_id="nope"), "accountId", "AccountId")


def test_the_source_account_must_be_connected(partner_a, account):
    SourceAccount.objects.filter(pk=account.pk).update(status="pending")
    refused(push(partner_a, account, batch(1)), "acc-1", "SourceAccount")


def test_the_connection_must_be_linked(partner_a, account):
    XeroConnection.objects.filter(pk=account.connection_id).update(status=ConnectionStatus.UNLINKED)
    refused(push(partner_a, account, batch(1)), None, "Connection")


def test_body_account_must_equal_the_path(partner_a, account):
    response = partner_a.post(push_url(account), {"accountId": "other", "transactions": batch(1)}, format="json")
    refused(response, "accountId", "AccountId")


def test_at_most_1000_transactions(partner_a, account):
    response = push(partner_a, account, batch(1001))
    assert response.status_code == 400
    assert "1000" in str(response.json())
    assert not BankTransaction.objects.exists()


def test_dates_must_be_chronological(partner_a, account):
    transactions = batch(3)
    transactions[1]["date"], transactions[2]["date"] = transactions[2]["date"], transactions[1]["date"]
    refused(push(partner_a, account, transactions), "t3", "Chronological")


def test_dates_must_not_be_in_the_future(partner_a, account):
    transactions = batch(1)
    transactions[0]["date"] = (timezone.now() + timedelta(days=2)).date().isoformat()
    refused(push(partner_a, account, transactions), "t1", "DateInFuture")


def test_dates_must_not_be_older_than_a_year(partner_a, account):
    refused(push(partner_a, account, batch(1, days_ago=370)), "t1", "DateTooOld")


def test_an_offset_is_ignored_dates_are_local(partner_a, account):
    # 23:30 at -05:00 is the next day in UTC; read as local it is still today, so accepted
    # by validation (the push then fails only at Xero, which is unreachable here).
    today = timezone.now().date()
    transactions = batch(1)
    transactions[0]["date"] = f"{today.isoformat()}T00:30:00+14:00"
    response = push(partner_a, account, transactions)
    errors = response.json().get("validation", {}).get("errors", [])
    assert all(e["validatorName"] not in ("DateInFuture", "DateFormat") for e in errors)


def test_balance_is_required(partner_a, account):
    transactions = batch(2)
    del transactions[1]["balance"]
    refused(push(partner_a, account, transactions), "t2", "balanceRequired")


def test_the_last_balance_must_add_up(partner_a, account):
    transactions = batch(3)
    transactions[2]["balance"] += 5
    body = refused(push(partner_a, account, transactions), "t3", "EndBalance")
    assert "first balance plus the later amounts" in body["validation"]["errors"][0]["message"]


def test_more_than_four_decimal_places_is_refused(partner_a, account):
    transactions = batch(1)
    transactions[0]["amount"] = 1.12345
    refused(push(partner_a, account, transactions), "t1", "DecimalPlaces")


def test_ids_must_be_unique_in_the_batch(partner_a, account):
    transactions = batch(2)
    transactions[1]["id"] = "t1"
    refused(push(partner_a, account, transactions), "t1", "DuplicateId")


def test_a_running_balance_break_in_between_is_only_a_warning():
    from apps.feeds.serializers import read_transactions

    transactions = batch(3)
    # Same-day reorder: the middle balance is off, the end still adds up.
    transactions[1]["balance"] += 1
    checked = read_transactions(transactions)
    assert checked.errors == []
    assert [w["validatorName"] for w in checked.warnings] == ["RunningBalance", "RunningBalance"]


def test_an_amount_against_its_type_is_only_a_warning():
    from apps.feeds.serializers import read_transactions

    transactions = batch(1)
    transactions[0]["transactionType"] = "Credit"
    checked = read_transactions(transactions)
    assert checked.errors == []
    assert checked.warnings[0]["validatorName"] == "AmountSign"


def test_the_statement_is_derived_from_the_batch():
    from apps.feeds.serializers import read_transactions
    from apps.feeds.statements import build_statement

    checked = read_transactions(batch(3, opening=Decimal("10.00"), amount=Decimal("-5.00")))
    statement = build_statement(checked.transactions, feed_connection_id="f")
    assert statement.start_balance == Decimal("10.00")
    assert statement.body["startBalance"] == {"amount": 10.0, "creditDebitIndicator": "CREDIT"}
    assert statement.body["endBalance"] == {"amount": 5.0, "creditDebitIndicator": "DEBIT"}
    line = statement.body["statementLines"][0]
    assert (line["amount"], line["creditDebitIndicator"], line["payeeName"]) == (5.0, "DEBIT", "Coffee Supplies Ltd")
    again = build_statement(read_transactions(batch(3, opening=Decimal("10.00"), amount=Decimal("-5.00")))
                            .transactions, feed_connection_id="f")
    assert again.idempotency_key == statement.idempotency_key


def test_another_partner_cannot_push(partner_b, account):
    response = push(partner_b, account, batch(1))
    assert response.status_code == 404
    assert not PushOperation.objects.exists()


def test_the_create_model_describes_the_rules(partner_a, account):
    connection = account.connection
    response = partner_a.get(f"/api/companies/{connection.company_id}/connections/{connection.id}/options/"
                             f"bankAccounts/acc-1/bankTransactions")
    assert response.status_code == 200
    properties = response.json()["properties"]["transactions"]["properties"]
    assert properties["balance"]["required"] is True


@pytest.mark.parametrize("timeout", ["0", "-1", "abc", "99999999999"])
def test_an_out_of_range_timeout_is_a_400(partner_a, account, timeout):
    response = partner_a.post(push_url(account) + f"?timeoutInMinutes={timeout}",
                              {"accountId": "acc-1", "transactions": batch(1)}, format="json")
    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0]["itemId"] == "timeoutInMinutes"
