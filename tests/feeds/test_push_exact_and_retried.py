"""Amounts reach Xero, and come back in the answer, as the exact decimals pushed; what
Xero's decimal(19,4) cannot hold is refused naming the transaction (issue #13, point 15).
Under an Idempotency-Key only final answers are kept: a 429 is answered with its
Retry-After and the partner's retry runs (point 13)."""

import json
from datetime import datetime
from decimal import Decimal

import pytest

from apps.api.models import IdempotencyRecord
from apps.feeds import statements
from apps.feeds.models import BankTransaction, PushOperation
from tests.feeds.push_support import add_fault, batch, push_url
from tests.xero_helpers import delivered_lines

pytestmark = pytest.mark.django_db(transaction=True)

BIG = "9876543210987.6543"


def exact_batch(day):
    """Two lines whose amounts and balances have 17 and 19 significant digits."""
    return ('{"accountId": "acc-1", "transactions": ['
            f'{{"id": "t1", "date": "{day}", "amount": 0.0001, "balance": 123456789012345.6789}},'
            f'{{"id": "t2", "date": "{day}", "amount": -{BIG}, "balance": 113580245801358.0246}}]}}')


def post_text(partner, account, text, **headers):
    return partner.http.post(push_url(account), data=text.encode(), content_type="application/json", **headers)


def test_amounts_reach_xero_and_the_answer_as_the_exact_decimals_pushed(partner_a, connected_account):
    day = batch(1)[0]["date"][:10]
    response = post_text(partner_a, connected_account, exact_batch(day))
    assert response.status_code == 200, response.content
    lines = {line["transactionId"]: line for line in delivered_lines(connected_account)}
    assert Decimal(lines["t1"]["amount"]) == Decimal("0.0001")
    assert Decimal(lines["t2"]["amount"]) == Decimal(BIG)
    assert (lines["t2"]["creditDebitIndicator"], lines["t1"]["creditDebitIndicator"]) == ("DEBIT", "CREDIT")
    # The answer's echo, read as text: a float would have written …987.654.
    text = response.content.decode()
    assert f'"amount":-{BIG}' in text and '"balance":123456789012345.6789' in text
    echoed = json.loads(text, parse_float=Decimal)["data"]["transactions"]
    assert [t["amount"] for t in echoed] == [Decimal("0.0001"), Decimal(f"-{BIG}")]
    stored = BankTransaction.objects.get(transaction_id="t2")
    assert (stored.amount, stored.balance) == (Decimal(f"-{BIG}"), Decimal("113580245801358.0246"))


def test_a_statement_that_would_start_beyond_xeros_limit_is_refused_naming_the_first_line(
        partner_a, connected_account):
    day = batch(1)[0]["date"][:10]
    body = {"accountId": "acc-1", "transactions": [
        {"id": "t1", "date": day, "amount": "-900000000000000", "balance": "900000000000000"}]}
    response = partner_a.post(push_url(connected_account), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["validation"]["errors"][0]
    assert (error["itemId"], error["validatorName"]) == ("t1", "StartBalanceRange")
    assert len(delivered_lines(connected_account)) == 0


def test_the_statement_text_writes_each_amount_as_its_4_decimal_places():
    transaction = statements.Transaction(id="t1", date=datetime(2025, 1, 2),
                                         amount=Decimal(f"-{BIG}"), balance=Decimal("1.5"))
    statement = statements.build_statement([transaction], feed_connection_id="f")
    assert f'"amount":{BIG}' in statement.json
    assert '"endBalance":{"amount":1.5000,' in statement.json
    assert json.loads(statement.json, parse_float=Decimal)["startBalance"]["amount"] == Decimal("9876543210989.1543")


def test_a_429_is_not_kept_under_its_key_and_the_retry_goes_through(partner_a, connected_account, live_server):
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", mode="status", status=429,
              retryAfter=7)
    transactions = batch(3)
    body = {"accountId": "acc-1", "transactions": transactions}
    throttled = partner_a.post(push_url(connected_account), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "7"
    assert throttled.json()["canBeRetried"] == "True"
    assert not IdempotencyRecord.objects.exists()

    retried = partner_a.post(push_url(connected_account), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert retried.status_code == 200, retried.content
    assert "Idempotent-Replayed" not in retried
    assert retried.json()["status"] in ("Pending", "Success")
    assert len(delivered_lines(connected_account)) == 3
    # That answer is final: it is the one a further resend gets.
    again = partner_a.post(push_url(connected_account), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == retried.content
    assert PushOperation.objects.filter(status__in=["Pending", "Success"]).count() == 1


def test_a_replayed_answer_keeps_its_exact_amounts(partner_a, connected_account):
    day = batch(1)[0]["date"][:10]
    first = post_text(partner_a, connected_account, exact_batch(day), HTTP_IDEMPOTENCY_KEY="exact-1")
    again = post_text(partner_a, connected_account, exact_batch(day), HTTP_IDEMPOTENCY_KEY="exact-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
