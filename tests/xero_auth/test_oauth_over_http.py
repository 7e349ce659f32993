"""The whole connect journey over real HTTP on the live server: the partner creates a
connection over the API, the SMB opens its linkUrl, presses Connect, consents on the
(sandbox) Xero page, comes back Linked, and the partner reads the organisation's details
from Xero."""

import pytest
import requests

from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.xero_helpers import AU, UK, grants, tenant_id

from .conftest import connections_url

pytestmark = pytest.mark.django_db(transaction=True)
CONSENT_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
                  "code_challenge_method")


def api(sandbox, partner, method, path, **kwargs) -> requests.Response:
    return requests.request(method, f"{sandbox}/api{path.removeprefix('/api')}",
                            headers={"Authorization": partner.auth}, timeout=30, **kwargs)


def start_connect(sandbox, browser, partner, company) -> dict:
    """Partner creates the connection; the SMB opens linkUrl and presses Connect to Xero.
    Leaves the browser on the sandbox's consent page; returns the connection as created."""
    created = api(sandbox, partner, "POST", connections_url(company.id), json={"platformKey": "gbol"})
    assert created.status_code == 200, created.text
    connection = created.json()
    assert connection["status"] == "PendingAuth"

    browser.get(connection["linkUrl"])
    assert browser.page.url.endswith(f"/portal/companies/{company.id}/")
    assert "Connect to Xero" in browser.text()
    browser.submit(f"/portal/companies/{company.id}/xero/connect", {})
    assert browser.page.status_code == 200
    assert "/xero-sandbox/identity/connect/authorize?" in browser.page.url
    assert "code_challenge_method=S256" in browser.page.url
    assert "wants access to your organisation" in browser.text()
    return connection


def consent(browser, *, tenants, decision="allow"):
    return browser.submit("", {"tenant": [tenant_id(t) for t in tenants], "decision": decision},
                          fields=CONSENT_FIELDS)


def test_a_company_connects_xero_and_the_partner_reads_its_organisation(sandbox, browser, partner_a, company):
    created = start_connect(sandbox, browser, partner_a, company)

    consent(browser, tenants=[UK])

    assert browser.page.url.endswith(f"/portal/companies/{company.id}/")
    assert "Connected to Demo Company (UK) in Xero." in browser.text()
    got = api(sandbox, partner_a, "GET", connections_url(company.id, created["id"])).json()
    assert got["status"] == "Linked"
    assert got["connectionInfo"] == {"tenantId": tenant_id(UK), "tenantName": UK}
    info = api(sandbox, partner_a, "GET", connections_url(company.id, created["id"], "/bankFeeds/info"))
    assert info.status_code == 200, info.text
    assert info.json() == {"companyName": UK, "baseCurrency": "GBP", "planType": None,
                           "multicurrencyEnabled": True, "currencies": ["GBP", "EUR", "USD"]}


def test_with_two_organisations_consented_the_company_picks_one(sandbox, browser, partner_a, company):
    created = start_connect(sandbox, browser, partner_a, company)

    consent(browser, tenants=[UK, AU])

    assert browser.page.url.endswith(f"/portal/companies/{company.id}/xero/organisation")
    assert UK in browser.text() and AU in browser.text()
    assert XeroConnection.objects.get(pk=created["id"]).status == ConnectionStatus.PENDING_AUTH
    browser.submit(browser.page.url, {"tenant": tenant_id(AU)})
    assert "Connected to Demo Company (AU) in Xero." in browser.text()
    connection = XeroConnection.objects.get(pk=created["id"])
    assert (connection.status, connection.tenant_name) == (ConnectionStatus.LINKED, AU)
    info = api(sandbox, partner_a, "GET", connections_url(company.id, created["id"], "/bankFeeds/info")).json()
    assert info == {"companyName": AU, "baseCurrency": "AUD", "planType": None, "multicurrencyEnabled": False,
                    "currencies": ["AUD"]}


def test_picking_an_organisation_that_was_not_consented_is_refused(sandbox, browser, partner_a, company):
    created = start_connect(sandbox, browser, partner_a, company)
    consent(browser, tenants=[UK, AU])

    browser.submit(browser.page.url, {"tenant": "6b1a9b9e-0000-0000-0000-000000000000"})

    assert browser.page.status_code == 400
    assert "Choose one of your Xero organisations." in browser.text()
    assert XeroConnection.objects.get(pk=created["id"]).status == ConnectionStatus.PENDING_AUTH


def test_cancelling_at_xero_brings_the_company_back_with_the_reason(sandbox, browser, partner_a, company):
    created = start_connect(sandbox, browser, partner_a, company)

    consent(browser, tenants=[UK], decision="deny")

    assert browser.page.url.endswith(f"/portal/companies/{company.id}/")
    assert "Xero was not connected: you cancelled." in browser.text()
    assert "Connect to Xero" in browser.text()
    connection = XeroConnection.objects.get(pk=created["id"])
    assert connection.status == ConnectionStatus.PENDING_AUTH
    assert connection.refresh_token == ""


def test_an_error_at_xero_brings_the_company_back_with_xeros_reason(sandbox, browser, partner_a, company):
    start_connect(sandbox, browser, partner_a, company)
    state = browser.page.url.split("state=", 1)[1].split("&", 1)[0]

    browser.get(f"/portal/xero/callback?error=server_error&error_description=Xero+is+down+for+maintenance"
                f"&state={state}")

    assert browser.page.url.endswith(f"/portal/companies/{company.id}/")
    assert "Xero was not connected: Xero is down for maintenance." in browser.text()


def test_the_portal_refuses_an_organisation_already_linked_to_another_company(sandbox, browser, partner_a,
                                                                               company):
    from apps.xero_auth import connections
    from tests.factories import CompanyFactory
    from tests.xero_helpers import link

    link(connections.connection_create(company=CompanyFactory(partner=partner_a.partner, name="First Co")))
    created = start_connect(sandbox, browser, partner_a, company)

    consent(browser, tenants=[UK])

    # The pick page names the organisation, says why it can't be used and offers the way
    # forward, without naming the other customer's company.
    assert browser.page.url.endswith(f"/portal/companies/{company.id}/xero/organisation")
    assert "Demo Company (UK)" in browser.text()
    assert "This Xero organisation is already connected to another company's bank feeds" in browser.text()
    assert "Choose in Xero again" in browser.text()
    assert "First Co" not in browser.page.text
    assert XeroConnection.objects.get(pk=created["id"]).status == ConnectionStatus.PENDING_AUTH
    # The consent that will not be used is given back at Xero and forgotten here.
    refused = XeroConnection.objects.get(pk=created["id"])
    assert (refused.access_token, refused.refresh_token) == ("", "")
    assert len([g for g in grants() if not g["revoked"]]) == 1  # First Co's only
