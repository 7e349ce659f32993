"""List source accounts: a bare array, each account in the version it was created in."""

import pytest

from .accounts_support import accounts_url, v1_body, v2_body

pytestmark = pytest.mark.django_db


def test_it_lists_the_connections_accounts_as_a_bare_array(partner_a, connection):
    partner_a.post(accounts_url(connection), v2_body(), format="json")
    partner_a.post(accounts_url(connection), v1_body(), format="json")

    response = partner_a.get(accounts_url(connection))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [(a["id"], a["accountType"]) for a in body] == [("acc-001", "checking"), ("acc-002", "Credit")]
    assert "routingInfo" in body[0]
    assert "routingInfo" not in body[1]


def test_an_empty_connection_lists_nothing(partner_a, connection):
    response = partner_a.get(accounts_url(connection))

    assert (response.status_code, response.json()) == (200, [])
