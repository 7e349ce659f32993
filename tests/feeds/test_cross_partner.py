"""Another partner's (or a malformed) company, connection or account is the same 404 on
every source account and mapping operation."""

import pytest

from .accounts_support import accounts_url, batch_url, create_account, mapping_url, v2_body

pytestmark = pytest.mark.django_db


def calls(connection, account_id="acc"):
    return [
        ("get", accounts_url(connection), None),
        ("post", accounts_url(connection), v2_body(id="new")),
        ("post", batch_url(connection), [v2_body(id="new")]),
        ("patch", accounts_url(connection, account_id), {"accountName": "Mine now"}),
        ("delete", accounts_url(connection, account_id), None),
        ("get", mapping_url(connection), None),
        ("post", mapping_url(connection), {"sourceAccountId": account_id}),
    ]


def test_another_partners_connection_is_not_found(partner_a, partner_b, connection):
    account = create_account(partner_a, connection, id="acc")

    for method, url, body in calls(connection):
        response = getattr(partner_b, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["statusCode"] == 404
    account.refresh_from_db()
    assert account.account_name == "Business Current"
    assert connection.source_accounts.count() == 1


@pytest.mark.parametrize("part", ["company", "connection"])
def test_malformed_ids_are_not_found(partner_a, connection, part):
    url = accounts_url(connection)
    url = url.replace(str(connection.company_id) if part == "company" else str(connection.id), "not-a-uuid")

    assert partner_a.get(url).status_code == 404
    assert partner_a.post(url.replace("connectionInfo/bankFeedAccounts", "bankFeedAccounts/mapping"),
                          {"sourceAccountId": "x"}, format="json").status_code == 404


def test_an_account_of_another_connection_is_not_found(partner_a, connection):
    from apps.xero_auth import connections
    from tests.factories import CompanyFactory

    other = connections.connection_create(company=CompanyFactory(partner=partner_a.partner))
    create_account(partner_a, other, id="acc")

    assert partner_a.patch(accounts_url(connection, "acc"), {"accountName": "x"}, format="json").status_code == 404
    assert partner_a.delete(accounts_url(connection, "acc")).status_code == 404
