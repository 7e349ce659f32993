"""Ops in Django admin: "why didn't company X's transactions arrive?" in one page (the
company's timeline), the push list telling our refusals from Xero's, the correlation id
searchable, staff retries audited and in order, push records never deleted."""

import html
from decimal import Decimal

import pytest
import requests
from django.contrib.auth import get_user_model

from apps.feeds.models import PushOperation, SourceAccount
from apps.feeds.push import RETRY_OUT_OF_ORDER
from apps.tenants.models import AuditEvent
from tests.feeds.push_support import add_fault, batch, push_url

pytestmark = pytest.mark.django_db(transaction=True)
PUSHES = "/admin/feeds/pushoperation/"


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "pw")
    client.login(username="ops", password="pw")
    return client


def push(partner, account, transactions):
    return partner.post(push_url(account), {"accountId": account.account_id, "transactions": transactions},
                        format="json")


@pytest.fixture
def refused_by_us(partner_a, connected_account):
    """A batch our rules refuse (out of date order): it never reaches Xero."""
    transactions = batch(2)
    transactions.reverse()
    response = push(partner_a, connected_account, transactions)
    assert response.status_code == 400
    return PushOperation.objects.get(push_operation_key=response.json()["correlationId"])


@pytest.fixture
def refused_by_xero(partner_a, connected_account, live_server):
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", status=400)
    response = push(partner_a, connected_account, batch(2, first_id=10))
    assert response.status_code == 200, response.content  # Xero's refusal is the push's Failed outcome
    operation = PushOperation.objects.get(push_operation_key=response.json()["pushOperationKey"])
    assert operation.status == "Failed"
    return operation


def keys(page, *operations):
    return [str(o.pk) in page for o in operations]


def test_the_company_page_shows_its_pushes_and_changes_in_one_timeline(staff, refused_by_us, refused_by_xero,
                                                                       connected_account):
    company = connected_account.connection.company
    page = staff.get(f"/admin/tenants/company/{company.pk}/change/").content.decode()

    assert "Timeline (pushes and changes, newest first)" in page
    assert "refused by us (never reached Xero)" in page
    assert "refused by Xero" in page
    assert "Transactions must be in date order" in page  # our refusal, in words
    assert "2 line(s)" in page
    assert "linked" in page  # the connection's audit event
    assert page.index(str(refused_by_xero.pk)) < page.index(str(refused_by_us.pk))  # newest first


def test_the_push_list_tells_our_refusals_from_xeros_and_shows_the_error(staff, refused_by_us, refused_by_xero):
    listed = staff.get(PUSHES).content.decode()
    assert "Transactions must be in date order" in listed  # the error column

    ours = staff.get(f"{PUSHES}?failure=ours").content.decode()
    theirs = staff.get(f"{PUSHES}?failure=xero").content.decode()

    assert keys(ours, refused_by_us, refused_by_xero) == [True, False]
    assert keys(theirs, refused_by_us, refused_by_xero) == [False, True]


def test_the_push_list_filters_by_company(staff, refused_by_us, partner_b):
    from apps.xero_auth import connections
    from tests.factories import CompanyFactory

    other = CompanyFactory(partner=partner_b.partner)
    connection = connections.connection_create(company=other)
    theirs = PushOperation.objects.create(company=other, connection=connection, account_id="x", status="Failed")

    page = staff.get(f"{PUSHES}?company__id__exact={refused_by_us.company_id}").content.decode()

    assert keys(page, refused_by_us, theirs) == [True, False]
    assert refused_by_us.company.name in page  # the filter names the chosen company
    assert other.name not in page  # and lists no other


def test_a_company_filter_that_is_not_a_company_id_is_the_admins_error_not_a_crash(staff, refused_by_us):
    answer = staff.get(f"{PUSHES}?company__id__exact=not-a-uuid")
    assert answer.status_code == 302 and answer["Location"].endswith("?e=1")


@pytest.mark.parametrize("form", [str, lambda key: key.replace("-", "")], ids=["with-dashes", "hex"])
def test_the_correlation_id_of_a_partner_error_finds_its_push(staff, refused_by_us, refused_by_xero, form):
    page = staff.get(PUSHES, {"q": form(str(refused_by_us.pk))}).content.decode()

    assert keys(page, refused_by_us, refused_by_xero) == [True, False]
    assert "Search by correlation id" in page  # and the page says it can


def test_push_records_cannot_be_deleted(staff, refused_by_us):
    assert staff.get(f"{PUSHES}{refused_by_us.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in staff.get(PUSHES).content.decode()
    assert PushOperation.objects.filter(pk=refused_by_us.pk).exists()


def failed_pair(partner, account, live_server):
    """Two pushes of the same day that failed (Xero down), the second continuing the first."""
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", status=500, count=2)
    first, second = batch(2), batch(2, first_id=3, opening=Decimal("997.50"))
    keys = [push(partner, account, t).json()["correlationId"] for t in (first, second)]
    assert requests.delete(f"{live_server.url}/xero-sandbox/_faults", timeout=10).status_code == 200
    return [PushOperation.objects.get(pk=k) for k in keys]


def retry(staff, *operations):
    return staff.post(PUSHES, {"action": "retry", "_selected_action": [o.pk for o in operations]}, follow=True)


def test_retrying_several_failed_pushes_sends_them_oldest_first(staff, partner_a, connected_account, live_server):
    older, newer = failed_pair(partner_a, connected_account, live_server)

    retry(staff, newer, older)  # selected in any order

    assert [PushOperation.objects.get(pk=o.pk).status for o in (older, newer)] == ["Success", "Success"]
    assert SourceAccount.objects.get(pk=connected_account.pk).last_end_balance == Decimal("995.00")
    events = AuditEvent.objects.filter(action="push retried").order_by("pk")
    assert [(e.actor_kind, e.actor) for e in events] == [("staff", "ops"), ("staff", "ops")]
    assert [str(older.pk) in events[0].detail, str(newer.pk) in events[1].detail] == [True, True]


def test_an_older_push_retried_after_a_newer_one_of_the_same_day_is_refused_with_the_reason(
        staff, partner_a, connected_account, live_server):
    older, newer = failed_pair(partner_a, connected_account, live_server)
    retry(staff, newer)

    response = retry(staff, older)

    assert RETRY_OUT_OF_ORDER.format(key=newer.pk, date=older.statement_end_date) in html.unescape(
        response.content.decode())
    assert PushOperation.objects.get(pk=older.pk).status == "Failed"
    # The account's balance stays at the newest statement, not the oldest.
    assert SourceAccount.objects.get(pk=connected_account.pk).last_end_balance == Decimal("995.00")


def test_admin_sections_have_readable_names_and_the_sandbox_its_own(staff):
    page = staff.get("/admin/").content.decode()

    for section in ("Bank feeds", "Partners and companies", "Xero connections",
                    "Xero sandbox (the embedded stand-in for Xero)"):
        assert f">{section}<" in page
    sandbox = page[page.index("Xero sandbox (the embedded stand-in for Xero)"):]
    assert "/admin/xero_sandbox/" in sandbox and "/admin/feeds/" not in sandbox
