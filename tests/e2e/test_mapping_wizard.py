"""The SMB's whole journey in a real browser: link → Connect to Xero → sandbox consent →
map one account to a new Xero account and one to an existing one → confirm → both
connected → manage → disconnect one → the sandbox's organisation page shows the feeds.
Saves a screenshot of each step: to docs/screenshots/ (the README's pictures) when
UPDATE_SCREENSHOTS=1, otherwise to var/screenshots/ so a test run leaves the tree clean."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.feeds.models import SourceAccount
from apps.mapping_ui.forms import form_prefix
from apps.xero_auth import connections
from tests.factories import CompanyFactory, PartnerFactory
from tests.xero_helpers import sandbox_ready

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var") / "screenshots"
UK_TENANT = "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d01"


@pytest.fixture
def journey(xero_on_live_server):
    sandbox_ready(xero_on_live_server)
    partner = PartnerFactory(name="Demo Bank", display_name="Demo Bank Business", primary_colour="#0f766e",
                             logo_url="/static/demo-bank-logo.svg", support_email="support@demo-bank.example",
                             return_url=f"{xero_on_live_server}/portal/")
    company = CompanyFactory(partner=partner, name="Demo Coffee Roasters")
    connection = connections.connection_create(company=company)
    common = {"connection": connection, "currency": "GBP", "account_type": "Debit", "sort_code": "40-47-84"}
    SourceAccount.objects.create(account_id="acc-current", account_name="Coffee Current", account_number="31926819",
                                 balance="4210.55", **common)
    SourceAccount.objects.create(account_id="acc-savings", account_name="Coffee Reserve", account_number="87654321",
                                 balance="18000.00", **common)
    return connection


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_mapping_journey(browser, live_server, journey):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    current, savings = form_prefix("acc-current"), form_prefix("acc-savings")

    # 1. The partner's link opens the company page.
    page.goto(journey.link_url())
    page.get_by_role("heading", name="Demo Coffee Roasters").wait_for()
    assert "Demo Bank Business" in page.locator("header").inner_text()
    shot(page, "01-company")

    # 2. Connect to Xero → the sandbox's consent page: the UK organisation only.
    page.get_by_role("button", name="Connect to Xero").click()
    page.get_by_role("button", name="Allow access").wait_for()
    for box in page.locator("input[name=tenant]").all():
        box.set_checked(box.get_attribute("value") == UK_TENANT)
    shot(page, "02-xero-consent")
    page.get_by_role("button", name="Allow access").click()

    # 3. Back on the portal: one organisation, so straight to the mapping step.
    page.get_by_role("heading", name="Map your accounts").wait_for()
    assert page.locator("[aria-current=step]").inner_text().endswith("Map accounts")
    shot(page, "03-mapping")
    narrow = context.new_page()
    narrow.set_viewport_size({"width": 390, "height": 844})
    narrow.goto(page.url)
    narrow.get_by_role("heading", name="Map your accounts").wait_for()
    shot(narrow, "04-mapping-narrow")
    narrow.close()

    # A start date in the future is refused next to its field.
    page.select_option(f"#id_{current}-target", value="new")
    page.fill(f"#id_{current}-feed_start_date", (timezone.localdate() + timedelta(days=2)).isoformat())
    page.select_option(f"#id_{savings}-target", label="Business Savings Account (20-00-00 87654321)")
    page.get_by_role("button", name="Continue").click()
    error = page.locator(f"#id_{current}-feed_start_date_error")
    error.wait_for()
    assert "can't be in the future" in error.inner_text()
    shot(page, "05-mapping-error")
    page.fill(f"#id_{current}-feed_start_date", (timezone.localdate() - timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Continue").click()

    # 4. Confirm.
    page.get_by_role("heading", name="Check and confirm").wait_for()
    assert page.url.endswith("/mapping/confirm")
    shot(page, "06-confirm")
    page.get_by_role("button", name="Connect 2 accounts").click()

    # 5. Each row swaps to its outcome.
    page.wait_for_function("document.querySelectorAll('[data-outcome=connected]').length === 2")
    assert page.url.endswith("/mapping/done")
    shot(page, "07-done")

    # Manage: both feeds, then disconnect one (inline confirm).
    page.get_by_role("link", name="Manage bank feeds").click()
    page.get_by_role("heading", name="Your bank feeds").wait_for()
    assert page.locator("td .status.connected").count() == 2
    shot(page, "08-manage")
    page.get_by_role("link", name="Disconnect Coffee Current").click()
    page.get_by_role("button", name="Yes, disconnect").wait_for()
    shot(page, "09-disconnect-confirm")
    page.get_by_role("button", name="Yes, disconnect").click()
    page.locator("td .status.disconnected").wait_for()
    assert page.locator("td .status.connected").count() == 1
    shot(page, "10-manage-after-disconnect")
    assert SourceAccount.objects.get(account_id="acc-current").status == "disconnected"

    # The sandbox ("Xero") shows a new account with a deleted feed and the existing one fed.
    page.goto(f"{live_server.url}/xero-sandbox/organisations/{UK_TENANT}/")
    new_account = page.locator("section", has=page.locator("h2", has_text="Coffee Current"))
    existing = page.locator("section", has=page.locator("h2", has_text="Business Savings Account"))
    assert "deleted" in new_account.inner_text()
    assert "Feed " in existing.inner_text()
    assert "deleted" not in existing.inner_text()
    assert "No feed connection." in page.locator("section", has=page.locator(
        "h2", has_text="Business Bank Account")).inner_text()
    shot(page, "11-xero-sandbox-organisation")

    # The sign-in page for returning users carries the partner's branding.
    page.goto(f"{live_server.url}/portal/accounts/login/")
    page.get_by_role("heading", name="Sign in").wait_for()
    shot(page, "12-sign-in")
    context.close()
