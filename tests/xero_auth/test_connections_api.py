"""The connections operations of the partner API (Codat's list, create, get, unlink and
delete connection) and the company's dataConnections."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.feeds.models import SourceAccount
from apps.xero_auth import connections, refusals, tokens
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.factories import CompanyFactory
from tests.xero_helpers import AU, UK, link, sandbox_grant, tenant_id
from tests.xero_helpers import grant as grant_of

from .conftest import connections_url

pytestmark = pytest.mark.django_db
REQUIRED = {"id", "integrationId", "sourceId", "platformName", "linkUrl", "status", "created", "sourceType"}


def test_a_partner_creates_a_xero_connection_waiting_for_the_company(partner_a, company):
    response = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert REQUIRED <= set(body)
    assert body["status"] == "PendingAuth"
    assert body["integrationKey"] == "gbol"
    assert body["platformName"] == "Xero"
    assert body["sourceType"] == "Accounting"
    assert body["dataConnectionErrors"] == []
    assert body["connectionInfo"] is None
    assert "/portal/link/" in body["linkUrl"]
    assert XeroConnection.objects.get(pk=body["id"]).company == company


# Codat's spec lists no 400 for create-connection (its SDK would raise an untyped error):
# an integration that is not here is a 404.
@pytest.mark.parametrize("body", [{"platformKey": "qbon"}, {}, {"platformKey": 7}],
                         ids=["unknown", "missing", "number"])
def test_an_unknown_platform_key_is_a_404_naming_the_keys_that_exist(partner_a, company, body):
    response = partner_a.post(connections_url(company.id), body, format="json")

    assert response.status_code == 404
    body = response.json()
    assert body["statusCode"] == 404
    messages = " ".join(e["message"] for e in body["validation"]["errors"])
    assert "gbol (Xero)" in messages
    assert body["validation"]["errors"][0]["itemId"] == "platformKey"
    assert not company.connections.exists()


def test_an_unknown_platform_key_is_named_in_the_refusal(partner_a, company):
    response = partner_a.post(connections_url(company.id), {"platformKey": "qbon"}, format="json")

    assert "qbon" in response.json()["error"]


def test_a_second_create_answers_the_connection_the_company_has(partner_a, company):
    first = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json").json()

    response = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == first["id"]
    assert response.json()["status"] == "PendingAuth"
    assert company.connections.count() == 1


def test_a_create_after_unlinking_answers_the_unlinked_connection_to_link_again(partner_a, linked_connection):
    url = connections_url(linked_connection.company_id)
    partner_a.patch(connections_url(linked_connection.company_id, linked_connection.id), {}, format="json")

    response = partner_a.post(url, {"platformKey": "gbol"}, format="json")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (str(linked_connection.id), "Unlinked")
    assert "/portal/link/" in response.json()["linkUrl"]


def test_get_answers_the_connection_as_created(partner_a, company):
    created = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json").json()

    response = partner_a.get(connections_url(company.id, created["id"]))

    assert response.status_code == 200
    assert response.json() == created


def test_the_list_is_paged_filtered_and_ordered(partner_a, company):
    # The API creates one connection per company; older rows are made directly so that
    # paging and ordering have something to work on.
    now = timezone.now()
    rows = [XeroConnection.objects.create(company=company, status=status) for status in
            (ConnectionStatus.UNLINKED, ConnectionStatus.LINKED, ConnectionStatus.PENDING_AUTH)]
    for age, row in enumerate(rows):
        XeroConnection.objects.filter(pk=row.pk).update(created=now - timedelta(days=age))
    newest_first = [str(r.pk) for r in rows]

    page = partner_a.get(connections_url(company.id), {"pageSize": 2}).json()
    assert [c["id"] for c in page["results"]] == newest_first[:2]
    assert (page["pageNumber"], page["pageSize"], page["totalResults"]) == (1, 2, 3)
    assert "next" in page["_links"]
    second = partner_a.get(connections_url(company.id), {"pageSize": 2, "page": 2}).json()
    assert [c["id"] for c in second["results"]] == newest_first[2:]
    oldest_first = partner_a.get(connections_url(company.id), {"orderBy": "created"}).json()
    assert [c["id"] for c in oldest_first["results"]] == newest_first[::-1]
    linked = partner_a.get(connections_url(company.id), {"query": "status=Linked"}).json()
    assert [c["id"] for c in linked["results"]] == [str(rows[1].pk)]
    bad = partner_a.get(connections_url(company.id), {"orderBy": "accessToken"})
    assert bad.status_code == 400
    assert "accessToken" in bad.json()["error"]


def test_the_company_lists_its_connection_in_data_connections(partner_a, company):
    created = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json").json()

    body = partner_a.get(f"/api/companies/{company.id}").json()

    assert [c["id"] for c in body["dataConnections"]] == [created["id"]]
    assert body["dataConnections"][0]["status"] == "PendingAuth"


def test_a_linked_connection_shows_its_organisation_and_can_be_queried_by_it(partner_a, linked_connection):
    url = connections_url(linked_connection.company_id)

    listed = partner_a.get(url, {"query": "connectionInfo.tenantName~uk"}).json()["results"]
    assert [(c["status"], c["connectionInfo"]) for c in listed] == [
        ("Linked", {"tenantId": tenant_id(UK), "tenantName": UK})]
    assert partner_a.get(url, {"query": "connectionInfo.tenantName~AU"}).json()["results"] == []


def test_unlink_drops_the_tokens_at_xero_and_here_but_keeps_the_data(partner_a, linked_connection):
    account = SourceAccount.objects.create(
        connection=linked_connection, account_id="acc-1", account_name="Current", account_type="checking",
        account_number="12345678", currency="GBP", balance=Decimal("10.00"))
    grant = sandbox_grant(linked_connection)

    response = partner_a.patch(connections_url(linked_connection.company_id, linked_connection.id),
                               {"status": "Unlinked"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Unlinked"
    assert response.json()["connectionInfo"]["tenantName"] == UK
    assert grant_of(grant["id"])["revoked"]
    connection = XeroConnection.objects.get(pk=linked_connection.pk)
    assert (connection.access_token, connection.refresh_token) == ("", "")
    assert list(connection.source_accounts.all()) == [account]
    with pytest.raises(refusals.ConnectionNotLinked):
        tokens.access_token_for(connection)


def test_an_unlinked_connection_can_be_linked_again(partner_a, linked_connection):
    partner_a.patch(connections_url(linked_connection.company_id, linked_connection.id),
                    {"status": "Unlinked"}, format="json")
    connection = XeroConnection.objects.get(pk=linked_connection.pk)

    link(connection)

    got = partner_a.get(connections_url(connection.company_id, connection.id)).json()
    assert (got["id"], got["status"]) == (str(linked_connection.id), "Linked")
    info = partner_a.get(connections_url(connection.company_id, connection.id, "/bankFeeds/info"))
    assert info.json()["companyName"] == UK


# Codat's spec lists no 400 for unlink-connection: another status is a 403.
@pytest.mark.parametrize("status", ["Linked", "PendingAuth", "Deauthorized", "linked"])
def test_unlink_accepts_only_the_unlinked_status(partner_a, linked_connection, status):
    response = partner_a.patch(connections_url(linked_connection.company_id, linked_connection.id),
                               {"status": status}, format="json")

    assert response.status_code == 403
    assert response.json()["validation"]["errors"][0]["itemId"] == "status"
    assert XeroConnection.objects.get(pk=linked_connection.pk).status == ConnectionStatus.LINKED


@pytest.mark.parametrize("body", [{}, {"status": None}, None], ids=["empty", "null-status", "no-body"])
def test_unlink_without_a_status_unlinks(partner_a, linked_connection, body):
    url = connections_url(linked_connection.company_id, linked_connection.id)
    response = partner_a.patch(url, body, format="json") if body is not None else partner_a.patch(url)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Unlinked"
    assert XeroConnection.objects.get(pk=linked_connection.pk).status == ConnectionStatus.UNLINKED


def test_delete_revokes_at_xero_and_removes_the_connection(partner_a, linked_connection):
    grant = sandbox_grant(linked_connection)
    url = connections_url(linked_connection.company_id, linked_connection.id)

    response = partner_a.delete(url)

    assert response.status_code == 200
    assert response.content == b""
    grant = grant_of(grant["id"])
    assert grant["revoked"]
    assert all(t["revoked"] for t in grant["refreshTokens"])
    assert grant["tenantIds"] == []
    assert partner_a.get(url).status_code == 404
    assert partner_a.get(f"/api/companies/{linked_connection.company_id}").json()["dataConnections"] == []


def test_delete_keeps_the_connection_when_xero_cannot_revoke(partner_a, linked_connection, live_server):
    import requests

    requests.post(f"{live_server.url}/xero-sandbox/_faults", json={"operation": "connect/revocation",
                                                                   "status": 503}, timeout=10)
    url = connections_url(linked_connection.company_id, linked_connection.id)

    response = partner_a.delete(url)

    assert response.status_code == 503
    assert response.json()["canBeRetried"] == "True"
    assert not sandbox_grant(linked_connection)["revoked"]
    assert partner_a.get(url).json()["status"] == "Linked"


def test_another_partners_connection_is_not_found_on_every_operation(partner_a, partner_b, linked_connection):
    company_id, connection_id = linked_connection.company_id, linked_connection.id
    calls = [
        ("get", connections_url(company_id), None),
        ("post", connections_url(company_id), {"platformKey": "gbol"}),
        ("get", connections_url(company_id, connection_id), None),
        ("patch", connections_url(company_id, connection_id), {"status": "Unlinked"}),
        ("delete", connections_url(company_id, connection_id), None),
        ("get", connections_url(company_id, connection_id, "/bankFeeds/info"), None),
    ]
    own_company = CompanyFactory(partner=partner_b.partner)

    for method, url, body in calls:
        response = getattr(partner_b, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["statusCode"] == 404
        if str(connection_id) in url:  # B's own company with A's connection id is just as unknown
            crossed = getattr(partner_b, method)(url.replace(str(company_id), str(own_company.id)), body,
                                                 format="json")
            assert crossed.status_code == 404, (method, url)
    connection = XeroConnection.objects.get(pk=connection_id)
    assert connection.status == ConnectionStatus.LINKED
    assert connection.company.connections.count() == 1
    assert not sandbox_grant(connection)["revoked"]


def test_no_token_appears_in_api_output(partner_a, linked_connection):
    company_id, connection_id = linked_connection.company_id, linked_connection.id
    secrets = [linked_connection.access_token, linked_connection.refresh_token]
    bodies = [
        partner_a.get(connections_url(company_id)).content,
        partner_a.get(connections_url(company_id, connection_id)).content,
        partner_a.get(f"/api/companies/{company_id}").content,
        partner_a.get("/api/companies").content,
        partner_a.get(connections_url(company_id, connection_id, "/bankFeeds/info")).content,
    ]

    for body in bodies:
        for secret in secrets:
            assert secret.encode() not in body
    assert all(b'"accessToken"' not in b and b"refresh" not in b.lower() for b in bodies)


def test_company_information_needs_a_linked_connection(partner_a, company):
    created = partner_a.post(connections_url(company.id), {"platformKey": "gbol"}, format="json").json()

    response = partner_a.get(connections_url(company.id, created["id"], "/bankFeeds/info"))

    assert response.status_code == 400
    assert "PendingAuth" in response.json()["error"]


def test_company_information_of_a_single_currency_organisation(partner_a, xero_on_live_server, company):
    from tests.xero_helpers import sandbox_ready

    sandbox_ready(xero_on_live_server)
    connection = link(connections.connection_create(company=company), tenant=AU)

    body = partner_a.get(connections_url(company.id, connection.id, "/bankFeeds/info")).json()

    assert body == {"companyName": AU, "baseCurrency": "AUD", "planType": None, "multicurrencyEnabled": False,
                    "currencies": ["AUD"]}
