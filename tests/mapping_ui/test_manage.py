"""The manage page: each feed with its Xero account, status, last push, balance and push
warnings; disconnect (with a confirm step); reconnect; map new accounts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feeds.models import FeedConnection, PushOperation
from tests.mapping_ui.test_wizard import mapping_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped(linked, visitor, company):
    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked))
    visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    assert linked.source_accounts.filter(status="connected").count() == 2
    return linked


def test_it_lists_each_feed_with_its_last_push_and_warnings(mapped, visitor, company):
    source = mapped.source_accounts.get(account_id="acc-savings")
    source.last_pushed_at = timezone.now() - timedelta(hours=2)
    source.last_end_balance = "24990.50"
    source.save()
    PushOperation.objects.create(company=company, connection=mapped, source_account=source, account_id="acc-savings",
                                 status="Success", validation={"warnings": [
                                     {"itemId": None, "message": "Transactions may be missing between 2025-01-02 "
                                      "and 2025-01-05.", "validatorName": "gap"}]})
    html = visitor.get(reverse("portal:manage", args=[company.pk])).content.decode()
    assert "Business Savings Account" in html
    assert "24,990.50" in html
    assert "Transactions may be missing between 2025-01-02 and 2025-01-05." in html
    assert html.count('class="status connected"') == 2
    assert "Nothing yet" in html  # the current account never pushed


def test_a_push_xero_took_but_has_not_confirmed_shows_as_sent(mapped, visitor, company):
    source = mapped.source_accounts.get(account_id="acc-savings")
    source.last_pushed_at = timezone.now()
    source.save()
    PushOperation.objects.create(company=company, connection=mapped, source_account=source, account_id="acc-savings",
                                 status="Pending", delivered=True)
    html = visitor.get(reverse("portal:manage", args=[company.pk])).content.decode()
    assert '<span class="status Pending">Sent to Xero</span>' in html


def test_disconnect_asks_first_then_stops_the_feed(mapped, visitor, company):
    source = mapped.source_accounts.get(account_id="acc-current")
    url = reverse("portal:feed_disconnect", args=[company.pk, source.pk])
    confirm = visitor.get(url)
    assert "Stop sending <strong>Acme Current</strong> to Xero?" in confirm.content.decode()
    source.refresh_from_db()
    assert source.status == "connected"  # asking changes nothing

    response = visitor.post(url)
    assert response["Location"] == reverse("portal:manage", args=[company.pk])
    source.refresh_from_db()
    assert source.status == "disconnected"
    page = visitor.get(response["Location"]).content.decode()
    assert "Acme Current no longer sends transactions to Xero." in page
    assert FeedConnection.objects.get(source_account=source).status == "disconnected"


def test_disconnect_with_htmx_swaps_the_row(mapped, visitor, company):
    source = mapped.source_accounts.get(account_id="acc-savings")
    url = reverse("portal:feed_disconnect", args=[company.pk, source.pk])
    ask = visitor.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert ask.lstrip().startswith(f'<tr id="feed-{source.pk}" class="confirming">')
    row = visitor.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert row.lstrip().startswith(f'<tr id="feed-{source.pk}">')
    assert 'class="status disconnected"' in row


def test_a_disconnected_or_new_account_links_to_the_mapping_step(mapped, visitor, company):
    mapped.source_accounts.create(account_id="acc-new", account_name="New Pot", currency="GBP", sort_code="40-11-22",
                                  account_number="99887766")
    html = visitor.get(reverse("portal:manage", args=[company.pk])).content.decode()
    assert "1 account is not sending to Xero." in html
    assert reverse("portal:mapping", args=[company.pk]) in html
    mapping = visitor.get(reverse("portal:mapping", args=[company.pk])).content.decode()
    assert "New Pot" in mapping  # only the unmapped one
    assert "Acme Current" not in mapping


@pytest.mark.parametrize("status", ["Deauthorized", "Unlinked"])
def test_reconnect_is_offered_when_xero_access_is_gone(visitor, company, connection, source_accounts, status):
    connection.status = status
    connection.save()
    html = visitor.get(reverse("portal:manage", args=[company.pk])).content.decode()
    assert "Connect to Xero again" in html
    assert f'action="{reverse("portal:xero_connect", args=[company.pk])}"' in html


def test_the_partner_branding_is_on_every_page(mapped, visitor, company):
    for url in (reverse("portal:company", args=[company.pk]), reverse("portal:manage", args=[company.pk]),
                reverse("portal:mapping_done", args=[company.pk])):
        html = visitor.get(url).content.decode()
        assert "--brand: #0f766e;" in html
        assert "Alpha Business" in html
    visitor.logout()
    login = visitor.get(reverse("account_login")).content.decode()
    assert "Alpha Business" not in login  # signed out: the session (and its partner) are gone


def test_the_login_page_carries_the_last_partner_branding(visitor, company):
    html = visitor.get(reverse("account_login")).content.decode()
    assert "--brand: #0f766e;" in html
    assert "Alpha Business" in html
