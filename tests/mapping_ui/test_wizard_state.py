"""The wizard keeps what the user chose: Change, Back and a reload show every choice and
date again; a disconnected feed offers its old Xero account first; the done page names
the accounts left out; Xero is not asked for what it would refuse."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feeds import source_accounts as feed_accounts
from apps.mapping_ui.forms import NEW_ACCOUNT, SKIP, form_prefix
from tests.mapping_ui.conftest import connect_xero
from tests.mapping_ui.test_wizard import mapping_post
from tests.xero_helpers import AU, tenant_id

pytestmark = pytest.mark.django_db


def selected(html, account_id) -> str:
    select = re.search(rf'<select name="{form_prefix(account_id)}-target".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


def start_date(html, account_id) -> str:
    return re.search(rf'name="{form_prefix(account_id)}-feed_start_date"[^>]*value="([^"]+)"', html).group(1)


def test_change_shows_every_choice_and_date_again(linked, visitor, company):
    start = timezone.localdate() - timedelta(days=20)
    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked, current=NEW_ACCOUNT,
                                                                            savings=SKIP, start=start))

    html = visitor.get(reverse("portal:mapping", args=[company.pk])).content.decode()  # Change, Back or reload

    assert selected(html, "acc-current") == NEW_ACCOUNT
    assert selected(html, "acc-savings") == SKIP
    assert start_date(html, "acc-current") == start.isoformat()


def test_the_confirm_and_done_pages_name_the_accounts_left_out(linked, visitor, company):
    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked, savings=SKIP))

    confirm = visitor.get(reverse("portal:mapping_confirm", args=[company.pk])).content.decode()
    assert "Not connected now:" in confirm and "Acme Savings" in confirm
    visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    done = visitor.get(reverse("portal:mapping_done", args=[company.pk])).content.decode()

    assert done.count('data-outcome="connected"') == 1
    skipped = done[done.index('id="skipped-heading"'):]
    assert "Acme Savings" in skipped
    assert "Connecting…" not in done


def test_remapping_a_disconnected_feed_offers_its_old_xero_account(linked, visitor, company):
    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked))
    visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    savings = linked.source_accounts.get(account_id="acc-savings")
    old_target = str(savings.feeds.get().target_account_id)
    feed_accounts.feed_disconnect(source_account=savings)
    session = visitor.session  # a later visit: no choices kept from before
    del session[f"portal_mapping_plan:{company.pk}"]
    session.save()

    html = visitor.get(reverse("portal:mapping", args=[company.pk])).content.decode()

    assert selected(html, "acc-savings") == old_target


def test_a_new_account_is_not_offered_in_a_currency_the_organisation_cannot_hold(sandbox, visitor, company,
                                                                                 source_accounts):
    connect_xero(visitor, company, tenant=tenant_id(AU))  # AUD, multi-currency off; the accounts are GBP

    html = visitor.get(reverse("portal:mapping", args=[company.pk])).content.decode()

    assert "Create a new account in Xero" not in html
    assert "can&#x27;t hold GBP accounts (multi-currency is off)" in html
    assert f'value="{SKIP}"' in html


def test_one_fields_error_marks_that_field_not_the_whole_card(linked, visitor, company):
    data = mapping_post(linked)
    data[f"{form_prefix('acc-current')}-feed_start_date"] = (timezone.localdate() + timedelta(days=2)).isoformat()

    html = visitor.post(reverse("portal:mapping", args=[company.pk]), data).content.decode()

    prefix = form_prefix("acc-current")
    target = re.search(rf'<div class="field[^"]*">\s*<label for="id_{prefix}-target"', html).group(0)
    date = re.search(rf'<div class="field[^"]*">\s*<label for="id_{prefix}-feed_start_date"', html).group(0)
    assert "has-error" not in target
    assert "has-error" in date
    assert f'aria-describedby="id_{prefix}-feed_start_date_helptext id_{prefix}-feed_start_date_error"' in html
