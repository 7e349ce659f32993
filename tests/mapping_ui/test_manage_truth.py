"""The manage page tells the truth: the last statement Xero took and, apart from it, the
last failure with what to do; a gap between delivered statements stays until a later
statement fills it; after Xero access is revoked no row says Connected; recent changes
name the accounts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feeds.models import PushOperation
from apps.xero_auth import connections
from tests.mapping_ui.test_manage import mapped  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def delivered(connection, account_id, *, days_ago, start, end, hours_ago=None):
    source = connection.source_accounts.get(account_id=account_id)
    day = timezone.localdate() - timedelta(days=days_ago)
    operation = PushOperation.objects.create(
        company=connection.company, connection=connection, source_account=source, account_id=account_id,
        status="Success", status_code=200, delivered=True, statement_key=f"k{days_ago}{start}", transaction_count=2,
        statement_start_date=day, statement_end_date=day, statement_start_balance=Decimal(start),
        statement_end_balance=Decimal(end))
    when = timezone.now() - timedelta(hours=hours_ago if hours_ago is not None else days_ago * 24)
    PushOperation.objects.filter(pk=operation.pk).update(requested_on=when)
    source.last_pushed_at, source.last_end_balance, source.last_end_date = when, Decimal(end), day
    source.save()
    return operation


def manage(visitor, company):
    return visitor.get(reverse("portal:manage", args=[company.pk])).content.decode()


def row_of(html, text):
    start = html.rindex("<tr", 0, html.index(text))
    return html[start:html.index("</tr>", start)]


def test_a_refusal_after_a_delivery_shows_both_apart(mapped, visitor, company):  # noqa: F811
    delivered(mapped, "acc-current", days_ago=1, start="100.00", end="80.00")
    source = mapped.source_accounts.get(account_id="acc-current")
    PushOperation.record_refused(company=company, connection=mapped, source_account=source, account_id="acc-current",
                                 errors=[{"itemId": "t1", "message": "Transactions must be in date order.",
                                          "validatorName": "Chronological"}], warnings=[])

    row = row_of(manage(visitor, company), "Acme Current")

    assert '<span class="status Success">Delivered</span>' in row  # the last statement Xero took
    assert "2 transactions" in row
    assert "Last attempt failed" in row
    assert "were refused before reaching Xero" in row
    assert "can send them again" in row
    assert "80.00" in row


def test_a_gap_warning_stays_until_a_statement_fills_it(mapped, visitor, company):  # noqa: F811
    delivered(mapped, "acc-savings", days_ago=5, start="1000.00", end="950.00")
    delivered(mapped, "acc-savings", days_ago=3, start="900.00", end="880.00")
    delivered(mapped, "acc-savings", days_ago=2, start="880.00", end="870.00")  # a later one, no gap of its own

    assert "Transactions may be missing between" in row_of(manage(visitor, company), "Acme Savings")

    delivered(mapped, "acc-savings", days_ago=4, start="950.00", end="900.00", hours_ago=1)  # the missing lines

    assert "Transactions may be missing" not in row_of(manage(visitor, company), "Acme Savings")


def test_after_xero_access_is_revoked_no_row_says_connected(mapped, visitor, company):  # noqa: F811
    connections.connection_unlink(connection=mapped)

    html = manage(visitor, company)

    assert 'class="status connected"' not in html
    assert html.count('class="status paused"') == 2
    assert "nothing is sent until you connect again" in html
    company_page = visitor.get(reverse("portal:company", args=[company.pk])).content.decode()
    assert 'class="status connected"' not in company_page


def test_recent_changes_name_the_accounts_not_their_ids(mapped, visitor, company):  # noqa: F811
    html = manage(visitor, company)
    changes = html[html.index('id="changes-heading"'):]

    assert "Acme Current now sends its transactions to Xero" in changes
    assert "Xero connected" in changes
    assert "acc-current" not in changes
    assert str(mapped.pk) not in changes
