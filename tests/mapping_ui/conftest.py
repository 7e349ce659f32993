"""Portal fixtures: partner A's company with a connection and two GBP source accounts, a
browser that came in by the company's link, and (over real HTTP to the sandbox on the
live server) that browser's Xero connection to the UK demo organisation."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from apps.feeds.models import SourceAccount
from apps.xero_auth import connections
from tests.factories import CompanyFactory
from tests.xero_helpers import sandbox_ready

UK_TENANT = "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d01"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def company(partner_a):
    partner = partner_a.partner
    partner.primary_colour = "#0f766e"
    partner.display_name = "Alpha Business"
    partner.save()
    return CompanyFactory(partner=partner, name="Acme Coffee Ltd")


@pytest.fixture
def other_company(partner_b):
    """Partner B's company: an outsider's, which A's visitor must never see."""
    company = CompanyFactory(partner=partner_b.partner, name="Other Ltd")
    connections.connection_create(company=company)
    return company


@pytest.fixture
def connection(company):
    return connections.connection_create(company=company)


@pytest.fixture
def source_accounts(connection):
    common = {"connection": connection, "currency": "GBP", "account_type": "Debit", "sort_code": "40-11-22"}
    return [
        SourceAccount.objects.create(account_id="acc-current", account_name="Acme Current", account_number="11223344",
                                     balance="1520.40", **common),
        SourceAccount.objects.create(account_id="acc-savings", account_name="Acme Savings", account_number="55667788",
                                     balance="25000.00", **common),
    ]


@pytest.fixture
def visitor(client, connection):
    """A browser that opened the company's portal link."""
    response = client.get(path_of(connection.link_url()))
    assert response.status_code == 302
    return client


@pytest.fixture
def sandbox(xero_on_live_server):
    sandbox_ready(xero_on_live_server)
    return xero_on_live_server


def connect_xero(client: Client, company, tenant=UK_TENANT):
    """Connect → consent (the UK organisation) → callback; our side talks to the sandbox
    over real HTTP. Returns the callback's response."""
    response = client.post(reverse("portal:xero_connect", args=[company.pk]))
    assert response.status_code == 302, response
    consent = client.get(path_of(response["Location"]) + f"&sandbox_approve={tenant}")
    assert consent.status_code == 302, consent.content
    return client.get(path_of(consent["Location"]))


@pytest.fixture
def linked(sandbox, visitor, company, connection, source_accounts):
    """The visitor's company linked to the UK demo organisation, accounts still pending."""
    response = connect_xero(visitor, company)
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == "Linked"
    return connection
