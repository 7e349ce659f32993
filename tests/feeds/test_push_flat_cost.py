"""A push costs the same however many lines its account already holds: which of a batch's
ids Xero already took is one index probe per id, not a read of the account's lines
(PostgreSQL plans that read for accounts of tens of thousands of lines when the ids are
an array filter; the lookup is written so that it cannot)."""

import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection as db

from apps.feeds import store
from apps.feeds.models import PushOperation, SourceAccount
from apps.feeds.statements import Transaction
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(db.vendor != "postgresql", reason="the plan of PostgreSQL's lookup"),
]

LINES, BATCH = 40_000, 1000


def test_the_delivered_ids_of_a_batch_are_probed_not_read_from_all_the_accounts_lines():
    company = CompanyFactory()
    xero = XeroConnection.objects.create(company=company, status="Linked", tenant_id=uuid.uuid4())
    account = SourceAccount.objects.create(connection=xero, account_id="acc-1", currency="GBP", status="connected")
    day = datetime(2026, 5, 1, 9, 0)
    for n in range(LINES // BATCH):
        operation = PushOperation(company=company, connection=xero, source_account=account, account_id="acc-1",
                                  status="Success", status_code=200, delivered=True, transaction_count=BATCH)
        store.store_batch(operation, account, [
            Transaction(id=f"old-{n}-{i}", date=day, amount=Decimal("1.00"), balance=Decimal(i))
            for i in range(BATCH)])
    with db.cursor() as cursor:
        cursor.execute("ANALYZE feeds_banktransaction")
        cursor.execute("ANALYZE feeds_pushoperation")
        ids = [f"new-{i}" for i in range(BATCH - 1)] + ["old-7-7"]
        cursor.execute("EXPLAIN " + store.DELIVERED_AMONG_SQL.format(ids="%s", account="%s"),
                       [store.ids_param(ids), account.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using feeds_bankt_source__66c81a_idx on feeds_banktransaction" in plan, plan
    assert "Seq Scan on feeds_banktransaction" not in plan, plan
    assert "Bitmap Heap Scan on feeds_banktransaction" not in plan, plan
    assert store.delivered_ids(account, ids) == {"old-7-7"}
