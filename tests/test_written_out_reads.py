"""The reads every API request makes and the push's INSERT are written-out SQL
(apps/core/rows.py): they give the very instances and rows the ORM gives, converted the
same way, with no query left to run."""

import uuid

import pytest
from django.db import connection as db
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.tenants.models import PartnerApiKey
from apps.xero_auth.models import XeroConnection
from apps.xero_auth.selectors import connection_for_partner
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_connection_reads_as_the_orm_reads_it_with_its_company_and_partner(partner_a):
    company = CompanyFactory(partner=partner_a.partner, tags={"tier": "gold"}, description="ü")
    stored = XeroConnection.objects.create(
        company=company, status="Linked", tenant_id=uuid.uuid4(), access_token="access-secret",
        refresh_token="refresh-secret", access_token_expires_at=timezone.now(),
        data_connection_errors=[{"statusCode": "400"}])

    with CaptureQueriesContext(db) as queries:
        found = connection_for_partner(partner_a.partner, str(company.pk), str(stored.pk))
        company_name, partner_name = found.company.name, found.company.partner.name

    assert len(queries) == 1
    orm = XeroConnection.objects.select_related("company").get(pk=stored.pk)
    assert fields(found) == fields(orm)
    assert found.access_token == "access-secret"
    assert fields(found.company) == fields(orm.company)
    assert (company_name, partner_name) == (company.name, partner_a.partner.name)


def test_a_key_reads_as_the_orm_reads_it_and_a_revoked_one_not_at_all(partner_a):
    found = PartnerApiKey.objects.authenticate(partner_a.raw_key)

    orm = PartnerApiKey.objects.select_related("partner").get(pk=found.pk)
    assert fields(found) == fields(orm)
    assert fields(found.partner) == fields(orm.partner)
    orm.revoke()
    assert PartnerApiKey.objects.authenticate(partner_a.raw_key) is None


def test_a_written_out_insert_stores_the_row_save_would(partner_a):
    from apps.core import rows
    from apps.feeds.models import PushOperation

    company = CompanyFactory(partner=partner_a.partner)
    connection = XeroConnection.objects.create(company=company, status="Linked", tenant_id=uuid.uuid4())
    before = timezone.now()

    operation = rows.insert(PushOperation(company=company, connection=connection, account_id="acc-1",
                                          validation={"errors": [], "warnings": [{"message": "ü"}]}))

    stored = PushOperation.objects.get(pk=operation.pk)
    assert fields(stored) == fields(operation)
    assert stored.requested_on >= before
    assert (stored.status, stored.data_type, stored.validation["warnings"][0]["message"]) == ("Pending",
                                                                                              "bankTransactions", "ü")


def test_a_pushed_account_reads_as_the_orm_reads_it_with_its_feed_and_the_batchs_delivered_ids(partner_a):
    from apps.feeds.models import SourceAccount
    from apps.feeds.push import _account_with_feed, _delivered
    from tests.factories import BankTransactionFactory, FeedConnectionFactory, PushOperationFactory

    feed = FeedConnectionFactory(source_account__connection__company__partner=partner_a.partner)
    account = feed.source_account
    taken = PushOperationFactory(source_account=account, status="Success", status_code=200, delivered=True)
    refused = PushOperationFactory(source_account=account)  # Failed: its lines may be sent again
    BankTransactionFactory(push_operation=taken, transaction_id="taken")
    BankTransactionFactory(push_operation=refused, transaction_id="refused")
    BankTransactionFactory(push_operation=refused, transaction_id="both")
    BankTransactionFactory(push_operation=taken, transaction_id="both")
    other = FeedConnectionFactory(source_account__connection=account.connection).source_account
    BankTransactionFactory(push_operation=PushOperationFactory(source_account=other, delivered=True),
                           transaction_id="elsewhere")

    with CaptureQueriesContext(db) as queries:
        found = _account_with_feed(account.connection, account.account_id,
                                   among_ids=["taken", "refused", "both", "elsewhere", "new"])
        delivered = _delivered(found, ["taken", "refused", "both", "elsewhere", "new"])

    assert len(queries) == (1 if db.vendor == "postgresql" else 2)
    assert fields(found) == fields(SourceAccount.objects.get(pk=account.pk))
    assert found.xero_feed_connection_id == feed.xero_feed_connection_id
    assert found.settle_first is False
    assert delivered == {"taken", "both"}
    assert _delivered(found, ["refused", "new"]) == set()


def test_on_a_connections_url_the_key_and_the_connection_are_read_in_one_query(partner_a, partner_b):
    from apps.xero_auth.selectors import key_with_connection

    company = CompanyFactory(partner=partner_a.partner, tags={"tier": "gold"})
    stored = XeroConnection.objects.create(company=company, status="Linked", tenant_id=uuid.uuid4(),
                                           access_token="access-secret", refresh_token="refresh-secret")

    PartnerApiKey.objects.update(last_used_at=timezone.now())  # no last_used_at stamp due in this read

    with CaptureQueriesContext(db) as queries:
        key = key_with_connection(partner_a.raw_key, str(company.pk), str(stored.pk))
        found = connection_for_partner(key.partner, str(company.pk), str(stored.pk))
    assert len(queries) == 1
    orm_key = PartnerApiKey.objects.select_related("partner").get(pk=key.pk)
    assert fields(key) == fields(orm_key) and fields(key.partner) == fields(orm_key.partner)
    orm = XeroConnection.objects.select_related("company").get(pk=stored.pk)
    assert fields(found) == fields(orm) and fields(found.company) == fields(orm.company)
    assert found.access_token == "access-secret" and found.company.partner is key.partner

    # Another partner's key reads no connection of A's: the read that follows is the 404's.
    other = key_with_connection(partner_b.raw_key, str(company.pk), str(stored.pk))
    assert other.partner == partner_b.partner
    with pytest.raises(Http404):
        connection_for_partner(other.partner, str(company.pk), str(stored.pk))
    # A revoked key reads nothing at all.
    orm_key.revoke()
    assert key_with_connection(partner_a.raw_key, str(company.pk), str(stored.pk)) is None
