"""Codat's SDK pushes a full 1000-transaction batch; the sandbox holds exactly those lines,
and reading the operation back reports it delivered."""

from decimal import Decimal

import pytest

from apps.feeds.models import PushOperation, SourceAccount
from tests.feeds.push_support import batch
from tests.xero_helpers import delivered_lines, statements

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_1000_transaction_push_is_delivered_once_with_the_right_balances(codat_sdk, connected_account):
    account = connected_account
    transactions = batch(1000, opening=Decimal("1000.00"), amount=Decimal("-0.75"))
    result = codat_sdk.transactions.create(request={
        "company_id": str(account.connection.company_id),
        "connection_id": str(account.connection.id),
        "account_id": account.account_id,
        "create_bank_transactions": {"account_id": account.account_id, "transactions": transactions},
    })
    # Xero took the statement (202, PENDING): the answer says so before it is delivered.
    assert result.status == "Pending"
    assert result.status_code == 202
    assert len(result.data.transactions) == 1000

    lines = delivered_lines(account)
    assert len(lines) == 1000
    assert sorted(line["transactionId"] for line in lines) == sorted(t["id"] for t in transactions)
    [statement] = [s for s in statements() if s["id"] == lines[0]["statementId"]]
    assert (Decimal(statement["startBalance"]["amount"]), statement["startBalance"]["creditDebitIndicator"]) == (
        Decimal("1000.00"), "CREDIT")
    assert (Decimal(statement["endBalance"]["amount"]), statement["endBalance"]["creditDebitIndicator"]) == (
        Decimal("250.00"), "CREDIT")
    account = SourceAccount.objects.get(pk=account.pk)
    assert account.balance == Decimal("250.00")
    assert account.last_end_balance == Decimal("250.00")

    operation = codat_sdk.transactions.get_create_operation(request={
        "company_id": str(account.connection.company_id), "push_operation_key": result.push_operation_key})
    assert operation.status == "Success"
    assert operation.status_code == 200
    assert len(operation.changes) == 1000
    assert operation.changes[0].record_ref.id == "t1"
    assert PushOperation.objects.get().xero_statement_id is not None
