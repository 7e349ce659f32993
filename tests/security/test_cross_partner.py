"""Partner isolation, the one suite: every operation of /api/schema/ that names a company
answers partner B with a 404 for partner A's real company, connection, account and push
operation — the same answer as for an id that does not exist — and leaves A's data as it
was; malformed ids and another connection's account are the same 404."""

import uuid

import pytest
import yaml

from apps.feeds.models import PushOperation, SourceAccount
from apps.tenants.models import Company
from apps.xero_auth import connections
from apps.xero_auth.models import XeroConnection
from tests.factories import (
    CompanyFactory,
    PushOperationFactory,
)
from tests.feeds.accounts_support import accounts_url, batch_url, create_account, mapping_url, v2_body

pytestmark = pytest.mark.django_db

ACCOUNT = {"id": "acc-new", "accountName": "Mine now", "accountType": "checking", "accountNumber": "12345678",
           "sortCode": "40-00-00", "currency": "GBP", "balance": 1}
# A body that would succeed for partner A, so a 404 is about ownership, not validation.
BODIES = {
    "replace-company": {"name": "Taken over"},
    "update-company": {"name": "Taken over"},
    "create-connection": {"platformKey": "gbol"},
    "unlink-connection": {"status": "Unlinked"},
    "create-source-account": ACCOUNT,
    "create-batch-source-account": [ACCOUNT],
    "update-source-account": {"accountName": "Mine now"},
    "create-bank-account-mapping": {"sourceAccountId": "acc-1"},
    "create-bank-transactions": {"accountId": "acc-1", "transactions": [
        {"id": "t1", "date": "2025-01-02T00:00:00", "amount": 1, "balance": 11}]},
}


def _schema_operations():
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    return [(op["operationId"], method, path) for path, item in document["paths"].items()
            for method, op in item.items() if "{companyId}" in path]


OPERATIONS = _schema_operations()


@pytest.fixture
def a_data(partner_a):
    company = CompanyFactory(partner=partner_a.partner, name="Alpha's customer")
    connection = connections.connection_create(company=company)
    push = PushOperationFactory(source_account__connection=connection, source_account__account_id="acc-1")
    return {"companyId": company.pk, "connectionId": connection.pk, "accountId": "acc-1",
            "pushOperationKey": push.push_operation_key}


def state():
    return ([repr(c) for c in Company.objects.values()], [repr(c) for c in XeroConnection.objects.values()],
            [repr(a) for a in SourceAccount.objects.values()], [repr(p) for p in PushOperation.objects.values()])


def test_the_schema_served_lists_the_operations_checked_here(client):
    served = yaml.safe_load(client.get("/api/schema/").content)
    ids = {op["operationId"] for path, item in served["paths"].items() for op in item.values()
           if "{companyId}" in path}
    assert ids == {operation_id for operation_id, _, _ in OPERATIONS}
    assert len(ids) == 21


@pytest.mark.parametrize(("operation_id", "method", "path"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_another_partners_ids_are_not_found(partner_a, partner_b, a_data, operation_id, method, path):
    url = path.format(**a_data)
    before = state()

    response = getattr(partner_b, method)(url, BODIES.get(operation_id), format="json")

    assert response.status_code == 404, (operation_id, response.content)
    assert response.json()["statusCode"] == 404
    assert state() == before
    missing = getattr(partner_b, method)(path.format(**{**a_data, "companyId": uuid.uuid4()}),
                                         BODIES.get(operation_id), format="json")
    assert missing.json()["error"] == response.json()["error"]  # nothing tells "exists" from "missing"


def test_another_partners_companies_are_not_listed(partner_a, partner_b, a_data):
    assert partner_b.get("/api/companies").json()["results"] == []
    assert partner_b.get("/api/companies", {"query": "name~Alpha"}).json()["totalResults"] == 0


@pytest.fixture
def a_connection(partner_a):
    """A PendingAuth connection of a company of partner A."""
    return connections.connection_create(company=CompanyFactory(partner=partner_a.partner, name="Source Co"))


def account_calls(connection, account_id="acc"):
    return [
        ("get", accounts_url(connection), None),
        ("post", accounts_url(connection), v2_body(id="new")),
        ("post", batch_url(connection), [v2_body(id="new")]),
        ("patch", accounts_url(connection, account_id), {"accountName": "Mine now"}),
        ("delete", accounts_url(connection, account_id), None),
        ("get", mapping_url(connection), None),
        ("post", mapping_url(connection), {"sourceAccountId": account_id}),
    ]


def test_another_partners_connection_is_not_found_for_accounts_and_mapping(partner_a, partner_b, a_connection):
    account = create_account(partner_a, a_connection, id="acc")

    for method, url, body in account_calls(a_connection):
        response = getattr(partner_b, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["statusCode"] == 404
    account.refresh_from_db()
    assert account.account_name == "Business Current"
    assert a_connection.source_accounts.count() == 1


@pytest.mark.parametrize("part", ["company", "connection"])
def test_malformed_ids_are_not_found(partner_a, a_connection, part):
    url = accounts_url(a_connection)
    url = url.replace(str(a_connection.company_id) if part == "company" else str(a_connection.id), "not-a-uuid")

    assert partner_a.get(url).status_code == 404
    assert partner_a.post(url.replace("connectionInfo/bankFeedAccounts", "bankFeedAccounts/mapping"),
                          {"sourceAccountId": "x"}, format="json").status_code == 404


def test_an_account_of_another_connection_is_not_found(partner_a, a_connection):
    other = connections.connection_create(company=CompanyFactory(partner=partner_a.partner))
    create_account(partner_a, other, id="acc")

    assert partner_a.patch(accounts_url(a_connection, "acc"), {"accountName": "x"}, format="json").status_code == 404
    assert partner_a.delete(accounts_url(a_connection, "acc")).status_code == 404
