"""Dates and times in the partner's locale and time zone, card numbers masked, and a
language switcher."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.feeds.models import SourceAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(connection, source_accounts):
    """Acme Current last delivered at 23:30 UTC on 1 March 2026."""
    account = source_accounts[0]
    account.status = "connected"
    account.last_pushed_at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    account.save()
    return account


def manage_page(visitor, company, **headers):
    return visitor.get(reverse("portal:manage", args=[company.pk]), **headers).content.decode()


def test_a_gbp_partner_gets_british_dates(visitor, company, pushed):
    company.partner.currency = "GBP"
    company.partner.save()

    html = manage_page(visitor, company, HTTP_ACCEPT_LANGUAGE="en-GB")

    assert "1 Mar 2026, 11:30 p.m." in html
    assert '<html lang="en-gb">' in html


def test_without_a_home_currency_english_dates_are_american(visitor, company, pushed):
    assert "March 1, 2026, 11:30 p.m." in manage_page(visitor, company, HTTP_ACCEPT_LANGUAGE="en")


def test_times_are_shown_in_the_partners_time_zone(visitor, company, pushed):
    company.partner.currency, company.partner.time_zone = "AUD", "Australia/Sydney"
    company.partner.save()

    html = manage_page(visitor, company, HTTP_ACCEPT_LANGUAGE="en")

    assert "2 Mar 2026, 10:30 a.m." in html  # UTC+11 in March
    assert 'datetime="2026-03-02T10:30:00+11:00"' in html


def test_french_dates_in_french(visitor, company, pushed):
    assert "1 mars 2026 23:30" in manage_page(visitor, company, HTTP_ACCEPT_LANGUAGE="fr")


def test_card_numbers_show_only_their_last_four_digits(visitor, company, connection):
    SourceAccount.objects.create(connection=connection, account_id="card", account_name="Company Card",
                                 account_type="creditCard", account_number="4921 0000 0000 4417", currency="GBP")

    for name in ("company", "manage"):
        html = visitor.get(reverse(f"portal:{name}", args=[company.pk])).content.decode()
        assert "•••• 4417" in html
        assert "4921" not in html


def test_the_language_switcher_changes_the_language_and_remembers_it(visitor, company):
    page = reverse("portal:company", args=[company.pk])
    html = visitor.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="language" value="fr" lang="fr"' in html

    response = visitor.post(reverse("portal:set_language"), {"language": "fr"}, HTTP_REFERER=f"http://testserver{page}")

    assert response["Location"].endswith(page)  # back where the switch was pressed
    assert '<html lang="fr">' in visitor.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
