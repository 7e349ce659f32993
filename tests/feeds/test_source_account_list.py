"""List source accounts: a bare array, each account in the version it was created in."""

import pytest

from .accounts_support import accounts_url, v1_body, v2_body

pytestmark = pytest.mark.django_db


def test_it_lists_the_connections_accounts_as_a_bare_array(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")
    partner_a.post(accounts_url(connection), v2_body(id="acc-003", accountType="savings"), format="json")

    response = partner_a.get(accounts_url(connection))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [(a["id"], a["accountType"]) for a in body] == [("acc-001", "checking"), ("acc-003", "savings")]
    assert all("routingInfo" in a and "accountInfo" in a for a in body)


# Codat's list is all v2 or all v1 (its SDK reads a mixed list as v1 and drops the v2
# fields): a connection's accounts are of one version, so its list is too.
def test_a_v1_connection_lists_v1_accounts_only(partner_a, connection):
    partner_a.post(accounts_url(connection), v1_body(), format="json")
    partner_a.post(accounts_url(connection), v2_body(), format="json")

    body = partner_a.get(accounts_url(connection)).json()

    assert [(a["id"], a["accountType"]) for a in body] == [("acc-002", "Credit")]
    assert "routingInfo" not in body[0] and "accountInfo" not in body[0]


def test_an_empty_connection_lists_nothing(partner_a, connection):
    response = partner_a.get(accounts_url(connection))

    assert (response.status_code, response.json()) == (200, [])
