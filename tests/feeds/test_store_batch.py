"""Storing a push's batch outside any transaction (as a push runs in production, where the
store opens its own, its BEGIN and COMMIT sent with the INSERTs): all of it or nothing,
written while the statement is posted, and the connection is left ready for the next
statement either way."""

import threading
import time
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import DataError
from django.db import connection as db

from apps.feeds import store
from apps.feeds.models import BankTransaction, PushOperation, SourceAccount
from apps.feeds.statements import Transaction
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql", reason="the store's own transaction is PostgreSQL's path"),
]


def _account():
    company = CompanyFactory()
    xero = XeroConnection.objects.create(company=company, status="Linked", tenant_id=uuid.uuid4())
    account = SourceAccount.objects.create(connection=xero, account_id="acc-1", currency="GBP", status="connected")
    return company, xero, account


def _operation(company, xero, account):
    return PushOperation(company=company, connection=xero, source_account=account, account_id="acc-1",
                         status="Pending", status_code=202, transaction_count=2)


def _line(n, **fields):
    return Transaction(id=f"t-{n}", date=datetime(2026, 5, 1, 9, 30), amount=Decimal("1.25"), balance=Decimal(n),
                       **fields)


def test_a_batch_stored_outside_a_transaction_is_committed_whole_with_its_local_dates():
    company, xero, account = _account()
    operation = _operation(company, xero, account)

    store.store_batch(operation, account, [_line(1), _line(2, description="Coffee")])

    assert not db.in_atomic_block and db.connection.info.transaction_status == 0  # idle: committed
    stored = list(BankTransaction.objects.filter(push_operation=operation).order_by("pk"))
    assert [t.transaction_id for t in stored] == ["t-1", "t-2"]
    assert stored[0].date.isoformat() == "2026-05-01T09:30:00+00:00"  # the local time, kept as UTC
    assert stored[1].description == "Coffee"
    assert PushOperation.objects.filter(pk=operation.pk).exists()


def test_a_batch_that_fails_midway_leaves_nothing_and_the_connection_usable():
    company, xero, account = _account()
    operation = _operation(company, xero, account)

    with pytest.raises(DataError):  # transaction_type is varchar(32): the lines fail on the second one
        store.store_batch(operation, account, [_line(1), _line(2, transaction_type="x" * 40)])

    assert db.connection.info.transaction_status == 0  # rolled back, not left open or failed
    assert not PushOperation.objects.filter(pk=operation.pk).exists()
    assert not BankTransaction.objects.filter(source_account=account).exists()
    store.store_batch(_operation(company, xero, account), account, [_line(3)])
    assert BankTransaction.objects.filter(source_account=account).count() == 1


def test_text_and_amounts_are_stored_exactly_as_checked():
    company, xero, account = _account()
    text = 'Paid "Café" \\ 50% off\nline two \t😀 %s {0} \u2028'
    line = Transaction(id='t-"1\\', date=datetime(2026, 5, 1, 23, 59, 59, 123456),
                       amount=Decimal("-999999999999999.9999"), balance=Decimal("1E+2"), description=text,
                       counterparty=None, reference="", reconciled=True, transaction_type="Debit")

    store.store_batch(_operation(company, xero, account), account, [line])

    stored = BankTransaction.objects.get(source_account=account)
    assert (stored.transaction_id, stored.description) == ('t-"1\\', text)
    assert (stored.counterparty, stored.reference) == (None, "")
    assert (stored.amount, stored.balance, stored.reconciled, stored.transaction_type) == (
        Decimal("-999999999999999.9999"), Decimal("100"), True, "Debit")
    assert stored.date.isoformat() == "2026-05-01T23:59:59.123456+00:00"


def _other_connection():
    import psycopg

    settings = db.settings_dict
    return psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                           dbname=settings["NAME"], password=settings["PASSWORD"] or None, autocommit=True)


def test_the_batch_is_written_and_committed_while_the_statement_is_posted():
    """What meanwhile does (a push: post the statement to Xero) starts once PostgreSQL has
    the whole batch, COMMIT included, and runs while PostgreSQL writes it: held up by a
    lock, the batch commits during meanwhile without this side reading anything back."""
    company, xero, account = _account()
    operation = _operation(company, xero, account)
    seen = {}
    with _other_connection() as other, _other_connection() as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE feeds_banktransaction IN EXCLUSIVE MODE")
        # Were the batch stored before meanwhile, it would wait for this, then commit first.
        release = threading.Timer(5, holder.execute, ["COMMIT"])
        release.start()

        def meanwhile():
            count = "SELECT count(*) FROM feeds_banktransaction WHERE push_operation_id = %s"
            seen["while_locked"] = other.execute(count, [operation.pk]).fetchone()[0]
            release.cancel()
            holder.execute("COMMIT")  # the batch's INSERT, waiting on the lock, goes on now
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                seen["after"] = other.execute(count, [operation.pk]).fetchone()[0]
                if seen["after"]:
                    break
                time.sleep(0.01)
            return "posted"

        assert store.store_batch(operation, account, [_line(1), _line(2)], meanwhile=meanwhile) == "posted"
    assert seen == {"while_locked": 0, "after": 2}
    assert db.connection.info.transaction_status == 0
    assert PushOperation.objects.filter(pk=operation.pk).exists()


def test_a_batch_refused_after_the_statement_was_posted_says_so_and_leaves_nothing():
    company, xero, account = _account()
    operation = _operation(company, xero, account)
    calls = []

    with pytest.raises(store.BatchNotStored) as refused:
        store.store_batch(operation, account, [_line(1), _line(2, transaction_type="x" * 40)],
                          meanwhile=lambda: calls.append("posted"))

    assert calls == ["posted"]
    assert isinstance(refused.value.__cause__, DataError)
    assert db.connection.info.transaction_status == 0
    assert not PushOperation.objects.filter(pk=operation.pk).exists()
    assert not BankTransaction.objects.filter(source_account=account).exists()
    assert store.store_batch(_operation(company, xero, account), account, [_line(3)], meanwhile=lambda: 7) == 7
    assert BankTransaction.objects.filter(source_account=account).count() == 1


def test_a_batch_is_kept_when_what_ran_meanwhile_failed_and_its_error_comes_through():
    company, xero, account = _account()
    operation = _operation(company, xero, account)

    def refused_by_xero():
        raise LookupError("Xero refused the statement")

    with pytest.raises(LookupError, match="Xero refused"):
        store.store_batch(operation, account, [_line(1)], meanwhile=refused_by_xero)

    assert not operation._state.adding  # stored: the refusal is recorded on it next
    assert db.connection.info.transaction_status == 0
    assert BankTransaction.objects.filter(push_operation=operation).count() == 1
