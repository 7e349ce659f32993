"""Every partner list operation and every portal page runs the same number of SQL queries
for 1 row as for 100: a company with many accounts, pushes or feeds is not slower per row.

Queries are counted on the test's own connection (Django's test client runs the view in
this thread). Where Xero is involved, the sandbox runs on the live server and its queries
happen on another connection: Xero is HTTP to us, not SQL."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.feeds.models import BankTransaction, FeedConnection, PushOperation, PushStatus, SourceAccount
from apps.mapping_ui.forms import PlanItem
from apps.tenants.models import AuditEvent
from apps.xero_auth import connections
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory
from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db


def queries(client, url):
    """The number of SQL queries one GET of url runs, after a warm-up GET (sessions,
    content types and the partner key's last use are written or cached on first touch)."""
    assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(db) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def at_1_and_100(client, url, add_rows):
    """Query counts with 1 row, then with 100."""
    add_rows(1)
    one = queries(client, url)
    add_rows(99)
    return one, queries(client, url)


# --- Rows --------------------------------------------------------------------------------


def add_accounts(connection, n, *, status="connected", with_pushes=True):
    """n source accounts of the connection, each with a feed, a pushed batch and an audit event."""
    for _ in range(n):
        account = SourceAccount.objects.create(
            connection=connection, account_id=uuid.uuid4().hex, account_name="Current", account_type="checking",
            account_number="12345678", sort_code="40-00-00", currency="GBP", balance=Decimal("10.00"), status=status,
            feed_start_date=date.today())
        FeedConnection.objects.create(source_account=account, account_token=uuid.uuid4().hex[:20],
                                      status="connected" if status == "connected" else "connecting")
        if with_pushes:
            add_push(connection, account)
        AuditEvent.objects.create(company=connection.company, subject="feed", subject_id=account.account_id,
                                  action="connected", actor_kind="system", actor="system")


def add_push(connection, account):
    operation = PushOperation.objects.create(
        company=connection.company, connection=connection, source_account=account, account_id=account.account_id,
        status=PushStatus.SUCCESS, status_code=200, completed_on=timezone.now(),
        validation={"errors": [], "warnings": [{"itemId": None, "message": "gap", "validatorName": "BalanceGap"}]})
    BankTransaction.objects.bulk_create([
        BankTransaction(push_operation=operation, source_account=account, transaction_id=f"t{i}",
                        date=timezone.now(), amount=Decimal(1), balance=Decimal(i)) for i in range(3)])


@pytest.fixture
def company(partner_a):
    return CompanyFactory(partner=partner_a.partner, name="Counted Co")


@pytest.fixture
def connection(company):
    return connections.connection_create(company=company)


# --- Partner API ---------------------------------------------------------------------------


def test_listing_companies_runs_constant_queries(partner_a):
    def add(n):
        for _ in range(n):
            connections.connection_create(company=CompanyFactory(partner=partner_a.partner))

    one, hundred = at_1_and_100(partner_a, "/api/companies", add)
    assert one == hundred


def test_listing_connections_runs_constant_queries(partner_a, company):
    def add(n):  # the API allows one per company; the model, and so this read, any number
        for _ in range(n):
            XeroConnection.objects.create(company=company, link_nonce=uuid.uuid4().hex, link_issued_at=timezone.now())

    one, hundred = at_1_and_100(partner_a, f"/api/companies/{company.pk}/connections", add)
    assert one == hundred


def test_listing_source_accounts_runs_constant_queries(partner_a, connection):
    url = f"/api/companies/{connection.company_id}/connections/{connection.pk}/connectionInfo/bankFeedAccounts"
    one, hundred = at_1_and_100(partner_a, url, lambda n: add_accounts(connection, n))
    assert one == hundred


def test_listing_push_operations_runs_constant_queries(partner_a, connection):
    url = f"/api/companies/{connection.company_id}/push"
    one, hundred = at_1_and_100(partner_a, url, lambda n: add_accounts(connection, n))
    assert one == hundred


def test_getting_the_account_mapping_runs_constant_queries(partner_a, linked_connection):
    url = (f"/api/companies/{linked_connection.company_id}/connections/{linked_connection.pk}"
           "/bankFeedAccounts/mapping")
    one, hundred = at_1_and_100(partner_a, url, lambda n: add_accounts(linked_connection, n, status="pending"))
    assert one == hundred


# --- Portal ----------------------------------------------------------------------------------


@pytest.fixture
def visitor(client, connection):
    """A browser that came in by the company's portal link."""
    assert client.get(path_of(connection.link_url())).status_code == 302
    return client


def plan_for(client, company, n_accounts):
    """The mapping plan the wizard keeps in the session, one item per source account."""
    accounts = SourceAccount.objects.filter(connection__company=company)
    session = client.session
    session[f"portal_mapping_plan:{company.pk}"] = [
        PlanItem(source_account_id=a.account_id, source_account_name=a.account_name, source_account_number="",
                 currency="GBP", target_account_id=None, target_account_name="New account",
                 feed_start_date=date.today()).as_session()
        for a in accounts]
    session.save()
    assert len(session[f"portal_mapping_plan:{company.pk}"]) == n_accounts


def test_the_company_page_runs_constant_queries(visitor, company, connection):
    url = reverse("portal:company", args=[company.pk])
    one, hundred = at_1_and_100(visitor, url, lambda n: add_accounts(connection, n))
    assert one == hundred


def test_the_manage_page_runs_constant_queries(visitor, company, connection):
    url = reverse("portal:manage", args=[company.pk])
    one, hundred = at_1_and_100(visitor, url, lambda n: add_accounts(connection, n))
    assert one == hundred


def test_the_confirm_page_runs_constant_queries(visitor, company, connection):
    url = reverse("portal:mapping_confirm", args=[company.pk])
    add_accounts(connection, 1, status="pending", with_pushes=False)
    plan_for(visitor, company, 1)
    one = queries(visitor, url)
    add_accounts(connection, 99, status="pending", with_pushes=False)
    plan_for(visitor, company, 100)
    assert queries(visitor, url) == one


def test_the_done_page_runs_constant_queries(visitor, company, connection):
    url = reverse("portal:mapping_done", args=[company.pk])
    add_accounts(connection, 1, with_pushes=False)
    plan_for(visitor, company, 1)
    one = queries(visitor, url)
    add_accounts(connection, 99, with_pushes=False)
    plan_for(visitor, company, 100)
    assert queries(visitor, url) == one


def test_the_mapping_page_runs_constant_queries(client, linked_connection):
    assert client.get(path_of(linked_connection.link_url())).status_code == 302
    url = reverse("portal:mapping", args=[linked_connection.company_id])
    one, hundred = at_1_and_100(client, url, lambda n: add_accounts(linked_connection, n, status="pending",
                                                                     with_pushes=False))
    assert one == hundred
