"""Retention of delivered lines: `prune_delivered_lines` deletes the stored transactions of
delivered pushes past the retention, never those of a push whose statement is not final,
and never ids a partner could still resend (a resend older than a year is refused by the
date rule, so the deleted ids are not needed to recognise it)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.feeds.models import BankTransaction, PushOperation, SourceAccount
from apps.feeds.store import prune_delivered_lines
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory
from tests.feeds.push_support import batch, push_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    company = CompanyFactory()
    xero = XeroConnection.objects.create(company=company, status="Linked", tenant_id=uuid.uuid4())
    return SourceAccount.objects.create(connection=xero, account_id="acc-1", currency="GBP", status="connected")


def pushed(account, *, days_ago, status="Success", delivered=True, lines=3):
    """A push of `lines` stored transactions, made `days_ago` days ago."""
    operation = PushOperation.objects.create(
        company=account.connection.company, connection=account.connection, source_account=account,
        account_id=account.account_id, status=status, delivered=delivered, transaction_count=lines)
    when = timezone.now() - timedelta(days=days_ago)
    PushOperation.objects.filter(pk=operation.pk).update(requested_on=when)
    BankTransaction.objects.bulk_create([
        BankTransaction(push_operation=operation, source_account=account, transaction_id=f"{operation.pk}-{i}",
                        date=when, amount=Decimal("1.00"), balance=Decimal(i)) for i in range(lines)])
    return operation


def lines_of(operation):
    return BankTransaction.objects.filter(push_operation=operation).count()


def test_lines_of_delivered_pushes_past_the_retention_are_deleted_and_nothing_else(account):
    old_success = pushed(account, days_ago=401)
    old_pending = pushed(account, days_ago=402, status="Pending")
    old_timed_out = pushed(account, days_ago=403, status="TimedOut")
    old_failed = pushed(account, days_ago=404, status="Failed", delivered=False)
    recent_success = pushed(account, days_ago=399)

    assert prune_delivered_lines(older_than=timedelta(days=400), batch=2) == 3

    assert lines_of(old_success) == 0
    assert [lines_of(o) for o in (old_pending, old_timed_out, old_failed, recent_success)] == [3, 3, 3, 3]
    # The operation itself stays, with how many transactions it carried.
    assert PushOperation.objects.get(pk=old_success.pk).transaction_count == 3


def test_the_command_prunes_with_the_retention_setting(account, settings):
    settings.DELIVERED_LINES_RETENTION_DAYS = 500
    kept, gone = pushed(account, days_ago=450), pushed(account, days_ago=501)

    call_command("prune_delivered_lines")

    assert (lines_of(kept), lines_of(gone)) == (3, 0)


def test_a_retention_shorter_than_the_one_year_window_is_refused(account):
    operation = pushed(account, days_ago=370)

    with pytest.raises(CommandError, match="one-year window"):
        call_command("prune_delivered_lines", "--days", "300")
    with pytest.raises(ValueError, match="can still resend"):
        prune_delivered_lines(older_than=timedelta(days=300))

    assert lines_of(operation) == 3


@pytest.mark.django_db(transaction=True)
def test_a_resend_of_a_pruned_transaction_is_refused_by_the_date_rule(partner_a, connected_account):
    old = batch(2, days_ago=401, prefix="old")
    operation = PushOperation.objects.create(
        company=connected_account.connection.company, connection=connected_account.connection,
        source_account=connected_account, account_id="acc-1", status="Success", delivered=True)
    PushOperation.objects.filter(pk=operation.pk).update(requested_on=timezone.now() - timedelta(days=401))
    BankTransaction.objects.bulk_create([
        BankTransaction(push_operation=operation, source_account=connected_account, transaction_id=t["id"],
                        date=timezone.now() - timedelta(days=401), amount=Decimal("-1.25"), balance=Decimal(1))
        for t in old])
    assert prune_delivered_lines(older_than=timedelta(days=400)) == 2

    response = partner_a.post(push_url(connected_account), {"accountId": "acc-1", "transactions": old},
                              format="json")

    assert response.status_code == 400
    assert BankTransaction.objects.filter(transaction_id__startswith="old").count() == 0
    assert not PushOperation.objects.filter(status__in=["Pending", "Success"]).exclude(pk=operation.pk).exists()
