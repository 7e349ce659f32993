"""Every portal page passes axe-core with no serious or critical violation, in English and
French, at 1280×800 and 390×844 (point 8)."""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from apps.feeds.mapping import mapping_create
from apps.mapping_ui.access import PARTNER_SESSION_KEY, SESSION_KEY
from apps.mapping_ui.forms import PlanItem, form_prefix
from apps.mapping_ui.views import PICK_SESSION_KEY, PLAN_SESSION_KEY
from tests.e2e.portal_support import (
    AU_TENANT,
    NARROW,
    UK_TENANT,
    WIDE,
    coffee_company,
    demo_partner,
    new_page,
    serious_violations,
)
from tests.xero_helpers import link, sandbox_ready

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal(xero_on_live_server):
    """A linked company with one account connected and two to map, and a browser session
    holding its wizard plan and a pick step (as a visitor who came in by its link would)."""
    sandbox_ready(xero_on_live_server)
    partner = demo_partner(xero_on_live_server)
    company, connection = coffee_company(partner)
    connection = link(connection)
    mapping_create(connection=connection, source_account_id="acc-current", target_account_id=None,
                   feed_start_date=timezone.localdate() - timedelta(days=30))
    return company, connection


def session_cookie(base_url, company, connection):
    session = SessionStore()
    session[SESSION_KEY] = [str(company.pk)]
    session[PARTNER_SESSION_KEY] = company.partner_id
    session[f"{PLAN_SESSION_KEY}:{company.pk}"] = [
        PlanItem("acc-current", "Coffee Current", "40-47-84 31926819", "GBP", None, "", date.today()).as_session(),
        PlanItem("acc-savings", "Coffee Reserve", "40-47-84 87654321", "GBP", None, "", date.today(),
                 skipped=True).as_session()]
    session[PICK_SESSION_KEY] = {"connection": str(connection.pk), "choices": [
        {"tenant_id": UK_TENANT, "name": "Demo Company (UK)", "currency": "GBP", "taken": False},
        {"tenant_id": AU_TENANT, "name": "Demo Company (AU)", "currency": "AUD", "taken": True}]}
    session.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280x800", "390x844"])
@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_no_portal_page_has_a_serious_accessibility_violation(browser, live_server, portal, locale, viewport):
    company, connection = portal
    base = f"{live_server.url}/portal"
    page = new_page(browser, viewport=viewport, locale=locale)
    page.context.add_cookies([session_cookie(live_server.url, company, connection)])
    found = {}

    def check(name):
        page.wait_for_load_state("networkidle")
        found[name] = serious_violations(page)

    company_url = f"{base}/companies/{company.pk}"
    for name, url in [("company", f"{company_url}/"), ("pick", f"{company_url}/xero/organisation"),
                      ("mapping", f"{company_url}/mapping/"), ("confirm", f"{company_url}/mapping/confirm"),
                      ("done", f"{company_url}/mapping/done"), ("manage", f"{company_url}/feeds/"),
                      ("save-access", f"{company_url}/save-access"), ("start", f"{base}/start/{company.partner.slug}/"),
                      ("link-used", f"{base}/link/not-a-link/"), ("sign-in", f"{base}/accounts/login/"),
                      ("password-reset", f"{base}/accounts/password/reset/")]:
        page.goto(url)
        check(name)

    # The mapping step with a field in error, and the manage page's inline disconnect.
    page.goto(f"{company_url}/mapping/")
    page.fill(f"#id_{form_prefix('acc-savings')}-feed_start_date", (date.today() + timedelta(days=3)).isoformat())
    page.locator("form[hx-post] button[type=submit]").click()
    page.locator(f"#id_{form_prefix('acc-savings')}-feed_start_date_error").wait_for()
    check("mapping-error")
    page.goto(f"{company_url}/feeds/")
    page.locator("a.danger-outline").first.click()
    page.locator("tr.confirming").wait_for()
    check("disconnect-confirm")
    page.context.close()

    assert {name: v for name, v in found.items() if v} == {}
