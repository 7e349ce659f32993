"""What the browser tests share: a branded demo-like partner and company, a browser that
came in by the company's link, screenshots, and the axe-core check."""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings

from apps.feeds.models import SourceAccount
from apps.xero_auth import connections
from tests.factories import CompanyFactory, PartnerFactory

SHOTS = Path(settings.BASE_DIR) / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var") / "screenshots"
UK_TENANT = "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d01"
AU_TENANT = "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d02"
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")
_axe = Axe()


def demo_partner(base_url, **fields):
    return PartnerFactory(**{
        "name": "Demo Bank", "display_name": "Demo Bank Business", "primary_colour": "#0f766e",
        "logo_url": "/static/demo-bank-logo.svg", "support_email": "support@demo-bank.example",
        "return_url": "https://app.demo-bank.example/feeds?company={companyId}&status={statusCode}&ref={ref}",
        "currency": "GBP", "time_zone": "Europe/London", **fields})


def coffee_company(partner, name="Demo Coffee Roasters"):
    """A company with a pending connection and three GBP accounts: current, savings, card."""
    company = CompanyFactory(partner=partner, name=name)
    connection = connections.connection_create(company=company)
    common = {"connection": connection, "currency": "GBP", "sort_code": "40-47-84"}
    SourceAccount.objects.create(account_id="acc-current", account_name="Coffee Current", account_number="31926819",
                                 account_type="checking", balance="4210.55", **common)
    SourceAccount.objects.create(account_id="acc-savings", account_name="Coffee Reserve", account_number="87654321",
                                 account_type="savings", balance="18000.00", **common)
    SourceAccount.objects.create(account_id="acc-card", account_name="Coffee Card", account_number="4921000000004417",
                                 account_type="creditCard", balance="-412.60", **common)
    return company, connection


def new_page(browser, *, viewport=WIDE, locale="en-GB"):
    context = browser.new_context(viewport=viewport, locale=locale)
    context.set_default_timeout(15_000)
    return context.new_page()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, described."""
    results = _axe.run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results.response["violations"] if v["impact"] in SERIOUS]
