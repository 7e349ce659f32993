"""Choosing the Xero organisation: each consented organisation with its base currency; one
another company already uses is marked, never naming that company, with the way forward."""

import pytest
from django.urls import reverse

from apps.xero_auth import connections
from apps.xero_auth.models import ConnectionStatus
from tests.factories import CompanyFactory
from tests.mapping_ui.conftest import UK_TENANT, path_of
from tests.xero_helpers import AU, grants, link, tenant_id

pytestmark = pytest.mark.django_db


def consent(client, company, *tenants):
    response = client.post(reverse("portal:xero_connect", args=[company.pk]))
    approve = "".join(f"&sandbox_approve={t}" for t in tenants)
    consent = client.get(path_of(response["Location"]) + approve)
    return client.get(path_of(consent["Location"]))


@pytest.fixture
def uk_taken(sandbox, company):
    """Another company of the same partner uses the UK organisation."""
    other = CompanyFactory(partner=company.partner, name="Secret Neighbour Ltd")
    return link(connections.connection_create(company=other))


def test_each_organisation_shows_its_base_currency(sandbox, visitor, company, connection, source_accounts):
    response = consent(visitor, company, UK_TENANT, tenant_id(AU))
    assert response["Location"] == reverse("portal:xero_pick", args=[company.pk])

    html = visitor.get(response["Location"]).content.decode()

    assert "Base currency GBP" in html
    assert "Base currency AUD" in html
    assert "Its currency is AUD; your accounts are in GBP." in html


def test_an_organisation_in_use_is_marked_without_naming_the_company(uk_taken, visitor, company, connection,
                                                                   source_accounts):
    response = consent(visitor, company, UK_TENANT, tenant_id(AU))
    html = visitor.get(response["Location"]).content.decode()

    assert "Secret Neighbour" not in html
    uk = html[html.index(f'value="{UK_TENANT}"') - 200:html.index(f'value="{UK_TENANT}"') + 600]
    assert "disabled" in uk
    assert "already connected to another company&#x27;s bank feeds" in uk
    assert "Choose in Xero again" in html
    assert "support@partner.example" in html  # the way forward

    refused = visitor.post(reverse("portal:xero_pick", args=[company.pk]), {"tenant": UK_TENANT})
    assert refused.status_code == 400
    assert "Secret Neighbour" not in refused.content.decode()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.PENDING_AUTH

    chosen = visitor.post(reverse("portal:xero_pick", args=[company.pk]), {"tenant": tenant_id(AU)})
    assert chosen.status_code == 302
    connection.refresh_from_db()
    assert (connection.status, connection.tenant_name) == (ConnectionStatus.LINKED, AU)


def test_a_single_organisation_in_use_is_not_linked_and_its_consent_is_given_back(uk_taken, visitor, company,
                                                                                 connection):
    response = consent(visitor, company, UK_TENANT)

    assert response["Location"] == reverse("portal:xero_pick", args=[company.pk])
    html = visitor.get(response["Location"]).content.decode()
    assert "None of the organisations you chose in Xero can be used here." in html
    assert "Secret Neighbour" not in html
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.PENDING_AUTH
    assert connection.refresh_token == ""
    assert len([g for g in grants() if not g["revoked"]]) == 1  # the neighbour's only


def test_back_after_consent_is_not_an_expired_sign_in(linked, visitor, company):
    """The browser's Back returns to Xero's consent page; sent again, it brings back the
    state this browser already completed."""
    state = visitor.session["portal_oauth_done"]["state"]

    response = visitor.get(reverse("portal:xero_callback"), {"state": state, "code": "used-already"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("portal:company", args=[company.pk])
    assert "expired" not in html
    assert "Connected" in html
