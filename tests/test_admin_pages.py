"""Admin for staff: list pages run a constant number of queries whatever the row count,
fields that would corrupt state are read-only, and tokens are never shown."""


import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feeds.models import BankTransaction, PushOperation
from apps.xero_auth.models import XeroConnection
from tests.factories import (
    AuditEventFactory,
    BankTransactionFactory,
    FeedConnectionFactory,
    PartnerApiKeyFactory,
    XeroConnectionFactory,
)

pytestmark = pytest.mark.django_db

LIST_PAGES = ["tenants/partner", "tenants/partnerapikey", "tenants/company", "tenants/auditevent",
              "xero_auth/xeroconnection", "feeds/sourceaccount", "feeds/feedconnection", "feeds/pushoperation",
              "feeds/banktransaction"]


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "pw")
    client.login(username="ops", password="pw")
    return client


def make_rows(n):
    """n of every kind of row the admin lists."""
    for _ in range(n):
        key = PartnerApiKeyFactory()
        xero = XeroConnectionFactory(company__partner=key.partner, access_token="secret-access",
                                     refresh_token="secret-refresh")
        feed = FeedConnectionFactory(source_account__connection=xero, status="connecting")
        BankTransactionFactory(push_operation__source_account=feed.source_account)
        AuditEventFactory(company=xero.company, subject_id=xero.pk)


def queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/admin/{path}/")
    assert response.status_code == 200, path
    return len(captured)


def test_list_pages_run_the_same_number_of_queries_for_1_and_100_rows(staff):
    make_rows(1)
    one = {page: queries(staff, page) for page in LIST_PAGES}
    make_rows(99)
    hundred = {page: queries(staff, page) for page in LIST_PAGES}
    assert one == hundred


def test_tokens_never_appear_in_admin(staff):
    make_rows(1)
    xero = XeroConnection.objects.get()
    pages = [f"/admin/xero_auth/xeroconnection/{xero.pk}/change/", "/admin/xero_auth/xeroconnection/",
             f"/admin/tenants/company/{xero.company_id}/change/"]
    for page in pages:
        body = staff.get(page).content.decode()
        assert "secret-access" not in body
        assert "secret-refresh" not in body


def test_push_operations_and_transactions_cannot_be_edited(staff):
    make_rows(1)
    operation = PushOperation.objects.get()
    page = staff.get(f"/admin/feeds/pushoperation/{operation.pk}/change/").content.decode()
    assert 'name="status"' not in page
    response = staff.post(f"/admin/feeds/pushoperation/{operation.pk}/change/", {"status": "Success"})
    assert response.status_code == 403
    operation.refresh_from_db()
    assert operation.status == "Failed"


def test_push_operations_are_found_by_transaction_id_and_filtered_by_partner(staff):
    make_rows(3)
    operation = PushOperation.objects.first()
    BankTransaction.objects.filter(push_operation=operation).update(transaction_id="needle-42")
    page = staff.get("/admin/feeds/pushoperation/?q=needle-42").content.decode()
    assert str(operation.pk) in page
    assert page.count("/admin/feeds/pushoperation/") >= 1
    partner = operation.company.partner
    page = staff.get(f"/admin/feeds/pushoperation/?company__partner__id__exact={partner.pk}").content.decode()
    assert str(operation.pk) in page
    assert str(PushOperation.objects.exclude(pk=operation.pk).first().pk) not in page


def test_the_push_list_of_a_large_table_takes_its_count_from_the_planner_not_a_scan(staff):
    make_rows(1)
    operation = PushOperation.objects.get()
    PushOperation.objects.bulk_create([
        PushOperation(company=operation.company, connection=operation.connection, account_id="acc", status="Success")
        for _ in range(10_049)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feeds_pushoperation")

    with CaptureQueriesContext(connection) as captured:
        page = staff.get("/admin/feeds/pushoperation/").content.decode()

    statements = [q["sql"] for q in captured.captured_queries if "feeds_pushoperation" in q["sql"]]
    assert any("reltuples" in sql for sql in statements)
    assert not any(sql.startswith(("SELECT COUNT(*)", "SELECT DISTINCT")) for sql in statements)
    assert "10050 push operations" in page
    # Filtered, the count is exact.
    page = staff.get("/admin/feeds/pushoperation/?status__exact=Success").content.decode()
    assert "10049 push operations" in page
