"""Partner isolation: every operation of /api/schema/ that names a company answers partner
B with a 404 for partner A's real company, connection, account and push operation — the
same answer as for an id that does not exist — and leaves A's data as it was."""

import uuid
from decimal import Decimal

import pytest
import yaml

from apps.feeds.models import PushOperation, PushStatus, SourceAccount
from apps.tenants.models import Company
from apps.xero_auth import connections
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory

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
    account = SourceAccount.objects.create(
        connection=connection, account_id="acc-1", account_name="Current", account_type="checking",
        account_number="12345678", sort_code="40-00-00", currency="GBP", balance=Decimal("10.00"))
    push = PushOperation.objects.create(company=company, connection=connection, source_account=account,
                                        account_id="acc-1", status=PushStatus.FAILED, status_code=400)
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
