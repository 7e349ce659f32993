"""The feed start date the SMB chose is a promise: lines dated before it never reach
Xero. The push answer lists each in validation.warnings and the rest goes through; a
batch wholly before it is Success with nothing sent (docs/API.md)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.feeds.models import PushOperation, SourceAccount
from tests.feeds.push_support import batch, push_url
from tests.xero_helpers import delivered_lines

pytestmark = pytest.mark.django_db(transaction=True)


def push(partner, account, transactions):
    return partner.post(push_url(account), {"accountId": account.account_id, "transactions": transactions},
                        format="json")


def starting(account, days_ago):
    account.feed_start_date = timezone.localdate() - timedelta(days=days_ago)
    account.save()


def test_lines_before_the_feed_start_date_are_left_out_with_a_warning_each(partner_a, connected_account):
    starting(connected_account, days_ago=2)
    early = batch(2, days_ago=5)
    later = batch(3, first_id=3, days_ago=1, opening=Decimal(early[-1]["balance"]).quantize(Decimal("0.01")))

    response = push(partner_a, connected_account, early + later)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "Pending"
    left_out = [w for w in body["validation"]["warnings"] if w["validatorName"] == "FeedStartDate"]
    assert [w["itemId"] for w in left_out] == ["t1", "t2"]
    assert "before the account's feed start date" in left_out[0]["message"]
    assert sorted(line["transactionId"] for line in delivered_lines(connected_account)) == ["t3", "t4", "t5"]
    assert [t["id"] for t in body["data"]["transactions"]] == ["t3", "t4", "t5"]
    operation = PushOperation.objects.get(push_operation_key=body["pushOperationKey"])
    # The statement starts where the first line sent starts, not at the first line left out.
    assert operation.statement_start_balance == Decimal("997.50")
    assert operation.transaction_count == 3
    assert SourceAccount.objects.get(pk=connected_account.pk).balance == Decimal("993.75")


def test_a_batch_wholly_before_the_feed_start_date_is_success_with_nothing_sent(partner_a, connected_account):
    starting(connected_account, days_ago=2)

    response = push(partner_a, connected_account, batch(3, days_ago=10))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "Success"
    assert [w["itemId"] for w in body["validation"]["warnings"]] == ["t1", "t2", "t3"]
    assert body["validation"]["errors"] == []
    assert len(delivered_lines(connected_account)) == 0
    account = SourceAccount.objects.get(pk=connected_account.pk)
    assert account.last_pushed_at is None and account.last_end_balance is None


def test_a_line_dated_on_the_feed_start_date_is_sent(partner_a, connected_account):
    starting(connected_account, days_ago=3)

    response = push(partner_a, connected_account, batch(2, days_ago=3))

    assert response.json()["validation"]["warnings"] == []
    assert len(delivered_lines(connected_account)) == 2
