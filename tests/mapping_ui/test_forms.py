"""Form errors say what is wrong, next to the field."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feeds.mapping import MappingOption
from apps.feeds.models import SourceAccount
from apps.mapping_ui.forms import NEW_ACCOUNT, MappingForm, form_prefix
from apps.xero_auth.client import BankAccount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OPTION = MappingOption(
    source_account=SourceAccount(account_id="acc-1", account_name="Current", account_number="12345678",
                                 currency="GBP", status="pending"),
    feed=None,
    targets=[BankAccount(account_id="11111111-1111-1111-1111-111111111111", name="Business Bank Account",
                         sort_code="20-00-00", number="12345678", currency=None, type="BANK")])


def form_with(start, target=NEW_ACCOUNT):
    prefix = form_prefix("acc-1")
    return MappingForm({f"{prefix}-target": target, f"{prefix}-feed_start_date": start.isoformat()}, option=OPTION)


def test_the_start_date_defaults_to_today_and_the_matching_account_is_suggested():
    form = MappingForm(option=OPTION)
    assert form["feed_start_date"].value() == timezone.localdate()
    assert form["target"].value() == "11111111-1111-1111-1111-111111111111"


def test_a_future_start_date_is_refused():
    form = form_with(timezone.localdate() + timedelta(days=1))
    assert form.errors["feed_start_date"] == ["The start date can't be in the future."]


def test_a_start_date_over_a_year_ago_is_refused():
    form = form_with(timezone.localdate() - timedelta(days=367))
    assert not form.is_valid()
    assert "up to one year old" in form.errors["feed_start_date"][0]


def test_a_start_date_a_year_ago_is_fine():
    assert form_with(timezone.localdate() - timedelta(days=364)).is_valid()


def test_a_target_must_be_chosen():
    prefix = form_prefix("acc-1")
    form = MappingForm({f"{prefix}-target": "", f"{prefix}-feed_start_date": timezone.localdate().isoformat()},
                       option=OPTION)
    assert form.errors["target"] == ["Choose where these transactions should go in Xero."]


def test_the_mapping_page_shows_the_error_next_to_the_field(linked, visitor, company):
    prefix = form_prefix("acc-current")
    data = {f"{prefix}-target": NEW_ACCOUNT,
            f"{prefix}-feed_start_date": (timezone.localdate() + timedelta(days=3)).isoformat(),
            f"{form_prefix('acc-savings')}-target": "skip",
            f"{form_prefix('acc-savings')}-feed_start_date": (timezone.localdate() - timedelta(days=400)).isoformat()}
    response = visitor.post(reverse("portal:mapping", args=[company.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    field = f'id="id_{prefix}-feed_start_date"'
    error = f'<p class="field-error" id="id_{prefix}-feed_start_date_error">The start date can&#x27;t be in the future.'
    assert field in html
    assert error in html
    assert html.index(field) < html.index(error)  # right after its field, in its card
    assert 'aria-invalid="true"' in html
    assert f"id_{form_prefix('acc-savings')}-feed_start_date_error" in html  # a skipped account's date still checked


def test_save_access_errors_sit_next_to_their_fields(visitor, company):
    UserFactory(email="taken@smb.example")
    response = visitor.post(reverse("portal:save_access", args=[company.pk]),
                            {"email": "taken@smb.example", "password1": "a long passphrase 42", "password2": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error">An account with this email already exists' in html
    assert 'id="id_password2_error">The two passwords don' in html


def test_save_access_creates_a_member_who_can_sign_in_later(visitor, company, client):
    response = visitor.post(reverse("portal:save_access", args=[company.pk]),
                            {"email": "Owner@SMB.example", "password1": "a long passphrase 42",
                             "password2": "a long passphrase 42"})
    assert response.status_code == 302
    assert company.memberships.get().user.email == "owner@smb.example"
    page = visitor.get(reverse("portal:company", args=[company.pk])).content.decode()
    assert "owner@smb.example" in page  # signed in now
    assert "Come back without a link" not in page

    from django.test import Client

    later = Client()
    assert later.post(reverse("account_login"), {"login": "owner@smb.example",
                                                 "password": "a long passphrase 42"}).status_code == 302
    assert later.get(reverse("portal:company", args=[company.pk])).status_code == 200
