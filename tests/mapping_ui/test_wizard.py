"""The wizard end to end without JS (plain GET/POST) and with htmx, against the sandbox
over real HTTP: map one account to a new Xero account and one to an existing one."""

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feeds import mapping
from apps.feeds.models import FeedStatus
from apps.mapping_ui.forms import NEW_ACCOUNT, SKIP, form_prefix

pytestmark = pytest.mark.django_db


def mapping_post(connection, *, current=NEW_ACCOUNT, savings=None, start=None):
    """The mapping step's form data: the current account to `current`, the savings one
    to `savings` (default: the existing 'Business Savings Account' in Xero)."""
    options = {m.source_account.account_id: m.targets for m in mapping.mapping_options(connection=connection)}
    if savings is None:
        savings = next(t.account_id for t in options["acc-savings"] if t.name == "Business Savings Account")
    start = (start or timezone.localdate()).isoformat()
    data = {}
    for account_id, target in (("acc-current", current), ("acc-savings", savings)):
        prefix = form_prefix(account_id)
        data[f"{prefix}-target"] = target
        data[f"{prefix}-feed_start_date"] = start
    return data


def test_connecting_one_organisation_goes_straight_to_the_mapping_step(linked, visitor, company):
    response = visitor.get(reverse("portal:company", args=[company.pk]))
    assert b"Demo Company (UK)" in response.content

    page = visitor.get(reverse("portal:mapping", args=[company.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme Current" in html
    assert "Acme Savings" in html
    assert "Business Savings Account" in html
    assert "Create a new account in Xero" in html
    assert 'aria-current="step"' in html


def test_it_maps_new_and_existing_accounts_without_js(linked, visitor, company):
    data = mapping_post(linked)
    response = visitor.post(reverse("portal:mapping", args=[company.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:mapping_confirm", args=[company.pk])

    confirm = visitor.get(response["Location"]).content.decode()
    assert "Business Savings Account" in confirm
    assert "A new Xero account “Acme Current”" in confirm

    run = visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    assert run["Location"] == reverse("portal:mapping_done", args=[company.pk])
    done = visitor.get(run["Location"]).content.decode()
    assert done.count('data-outcome="connected"') == 2
    assert "https://app.partner.example/done" in done  # the way back to the partner

    statuses = dict(linked.source_accounts.values_list("account_id", "status"))
    assert statuses == {"acc-current": "connected", "acc-savings": "connected"}


def test_htmx_runs_each_mapping_in_its_own_request(linked, visitor, company):
    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked))
    progress = visitor.post(reverse("portal:mapping_run", args=[company.pk]), HTTP_HX_REQUEST="true")
    html = progress.content.decode()
    assert "<html" not in html
    assert html.count('hx-trigger="load"') == 2
    assert progress["HX-Push-Url"] == reverse("portal:mapping_done", args=[company.pk])
    assert linked.source_accounts.filter(status="pending").count() == 2  # nothing ran yet

    row = visitor.post(reverse("portal:mapping_run_one", args=[company.pk]), {"account": "acc-current"},
                       HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    assert row.content.decode().lstrip().startswith("<tr")
    assert 'data-outcome="connected"' in row.content.decode()
    # Running the same row again (a reload) does not map twice.
    again = visitor.post(reverse("portal:mapping_run_one", args=[company.pk]), {"account": "acc-current"},
                         HTTP_HX_REQUEST="true")
    assert 'data-outcome="connected"' in again.content.decode()
    assert linked.source_accounts.get(account_id="acc-current").feeds.count() == 1


def test_a_mapping_xero_refuses_shows_xero_reason(linked, visitor, company):
    data = mapping_post(linked, current=NEW_ACCOUNT, savings=SKIP)
    visitor.post(reverse("portal:mapping", args=[company.pk]), data)
    # Someone maps the account over the API meanwhile, to the same new account: ours is refused.
    mapping.mapping_create(connection=linked, source_account_id="acc-current", target_account_id=None,
                                 feed_start_date=timezone.localdate())
    linked.source_accounts.filter(account_id="acc-current").update(status="pending")
    linked.source_accounts.get(account_id="acc-current").feeds.update(status=FeedStatus.REFUSED)
    row = visitor.post(reverse("portal:mapping_run_one", args=[company.pk]), {"account": "acc-current"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert 'data-outcome="failed"' in row
    assert 'class="field-error"' in row


def test_skipping_every_account_is_an_error(linked, visitor, company):
    data = mapping_post(linked, current=SKIP, savings=SKIP)
    response = visitor.post(reverse("portal:mapping", args=[company.pk]), data)
    assert response.status_code == 400
    assert "Choose a Xero account for at least one of your accounts." in response.content.decode()


def test_the_mapping_step_asks_to_connect_xero_first(visitor, company, source_accounts):
    response = visitor.get(reverse("portal:mapping", args=[company.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:company", args=[company.pk])
    assert "Connect to Xero first." in response.content.decode()
