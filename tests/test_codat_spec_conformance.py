"""Codat's own spec as the judge: schemathesis generates requests from Codat's Bank Feeds
OpenAPI document (not ours) for the 23 operations we serve and sends them over HTTP to a
live server, as partner A, with real ids: a company whose connection is Linked to the
sandbox's UK organisation, a connected source account, a push operation. Each answer must
pass not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance against Codat's document: zero failures.

Requests are the ones Codat's schema allows (positive generation): what the SDK can send.
Deleting and unlinking run on objects made for each request, so the shared ones stay.
Deterministic: fixed seed, derandomized, no example database, a bounded number per
operation (the whole test takes well under a minute here)."""

import copy
import itertools
import json
from decimal import Decimal

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.feeds.models import SourceAccount
from apps.xero_auth import connections
from tests.factories import CompanyFactory
from tests.feeds.push_support import batch, push_url
from tests.shared_specs import SPECS

pytestmark = pytest.mark.django_db(transaction=True)

CODAT_SPEC = SPECS / "codat" / "Codat-Bank-Feeds.json"
SEED = 20251201
EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = [
    "create-company", "list-companies", "get-company", "replace-company", "update-company", "delete-company",
    "list-connections", "create-connection", "get-connection", "unlink-connection", "delete-connection",
    "create-source-account", "create-batch-source-account", "list-source-accounts", "update-source-account",
    "delete-source-account", "get-bank-account-mapping", "create-bank-account-mapping", "get-company-information",
    "create-bank-transactions", "get-create-bank-transactions-model", "get-create-operation",
    "list-create-operations",
]


def nullable_as_null_type(node):
    """Codat's file says OpenAPI 3.1 but marks what may be null with 3.0's `nullable: true`,
    which 3.1 (JSON Schema) ignores: rewrite each into what 3.1 means by it, "or null" (null
    among the types, or an anyOf with null where there is no type beside a $ref). Schemathesis
    4 happens to read `nullable` in 3.1 documents too; rewritten, the judging does not depend
    on it."""
    if isinstance(node, list):
        return [nullable_as_null_type(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: nullable_as_null_type(value) for key, value in node.items()}
    # A bool, the keyword; a property named "nullable" would hold a schema.
    if not isinstance(node.get("nullable"), bool) or not node.pop("nullable"):
        return node
    kind = node.get("type")
    if kind is None:
        return {"anyOf": [node, {"type": "null"}]}
    node["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
    if "enum" in node and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


def codat_schema():
    schema = schemathesis.openapi.from_dict(nullable_as_null_type(json.loads(CODAT_SPEC.read_text())))
    # No NUL characters in generated text: PostgreSQL text cannot hold one, so any request
    # carrying one is a 400 on every operation (docs/API.md), where Codat's spec is silent.
    schema.config.generation.update(allow_x00=False)
    return schema


@pytest.fixture
def real_ids(partner_a, connected_account):
    """Partner A's company, Linked connection, connected account acc-1 and a push to it, and
    a pending account (to-map) for the mapping to map."""
    response = partner_a.post(push_url(connected_account), {"accountId": "acc-1", "transactions": batch(2)},
                              format="json")
    assert response.status_code == 200, response.content
    connection = connected_account.connection
    SourceAccount.objects.create(connection=connection, account_id="to-map", account_name="Savings",
                                 account_type="savings", account_number="11112222", sort_code="40-00-00",
                                 currency="GBP", balance=Decimal("5.00"))
    return {"companyId": str(connection.company_id), "connectionId": str(connection.id),
            "accountId": connected_account.account_id, "pushOperationKey": response.json()["pushOperationKey"]}


# Requests the generator would hardly ever write, so that the success paths that need a
# real id in the body are judged too (bodies Codat's SDK sends).
EXPLICIT = {
    "create-connection": [{"body": {"platformKey": "gbol"}}],
    "create-source-account": [{"body": {"id": "explicit-1", "accountName": "Reserve", "accountType": "savings",
                                        "accountNumber": "99990000", "sortCode": "40-00-00", "currency": "GBP",
                                        "balance": 10.5}}],
    "update-source-account": [{"body": {"id": "acc-1", "accountName": "Renamed by schemathesis"}}],
    "create-bank-account-mapping": [{"body": {"sourceAccountId": "to-map"}}],
    "create-bank-transactions": [{"body": {"accountId": "acc-1", "transactions": batch(
        2, first_id=100, opening=Decimal("997.50"))}}],
}


def throwaway_ids(operation_id, partner, real, counter):
    """Fresh objects for the operations that delete or unlink what they are given."""
    if operation_id == "delete-company":
        return {"companyId": str(CompanyFactory(partner=partner).pk)}
    if operation_id in ("delete-connection", "unlink-connection"):
        connection = connections.connection_create(company=CompanyFactory(partner=partner))
        return {"companyId": str(connection.company_id), "connectionId": str(connection.pk)}
    if operation_id == "delete-source-account":
        account = SourceAccount.objects.create(
            connection_id=real["connectionId"], account_id=f"throwaway-{next(counter)}", account_name="Spare",
            account_type="savings", account_number="87654321", sort_code="40-00-00", currency="GBP",
            balance=Decimal("1.00"))
        return {"accountId": account.account_id}
    return {}


def test_every_answer_conforms_to_codats_spec(live_server, partner_a, real_ids):
    schema = codat_schema()
    headers = {"Authorization": partner_a.auth}
    base_url = f"{live_server.url}/api"
    counter = itertools.count()
    session = requests.Session()
    failures, sent = [], {}

    def exercise(operation_id):
        operation = schema.find_operation_by_id(operation_id)

        def request(case):
            ids = {**real_ids, **throwaway_ids(operation_id, partner_a.partner, real_ids, counter)}
            for name in list(case.path_parameters or {}):
                case.path_parameters[name] = ids[name]
            response = case.call(base_url=base_url, session=session, headers=headers)
            sent.setdefault(operation_id, []).append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except (Failure, FailureGroup) as exc:  # every failure is reported at the end
                failures.append(f"{operation_id}: {case.method} {case.formatted_path} query={case.query!r} "
                                f"body={copy.deepcopy(case.body)!r:.300} → {response.status_code} "
                                f"{response.text[:300]!r}\n    {str(exc)[:700]}")

        for explicit in EXPLICIT.get(operation_id, []):
            names = [parameter.name for parameter in operation.path_parameters]
            case = operation.Case(media_type="application/json", path_parameters={n: real_ids[n] for n in names},
                                  headers=headers, **explicit)
            request = example(case=case)(request)
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers)
        run = settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                       print_blob=False)(seed(SEED)(given(case=strategy)(request)))
        run()

    for operation_id in OPERATIONS:
        exercise(operation_id)

    assert set(sent) == set(OPERATIONS)
    assert not failures, f"{len(failures)} answers do not conform to Codat's spec:\n" + "\n".join(failures[:30])
    # Real ids reach the success path of most operations, not only their refusals.
    succeeded = {op for op, statuses in sent.items() if any(200 <= s < 300 for s in statuses)}
    assert succeeded == set(OPERATIONS), sorted(set(OPERATIONS) - succeeded)


def answer(status, body):
    """An answer as schemathesis reads one, for the checks to judge."""
    return Response(status_code=status, headers={"Content-Type": ["application/json"]},
                    content=json.dumps(body).encode(), request=requests.Request("GET", "http://testserver/").prepare(),
                    elapsed=0.01, verify=False)


def verdict(schema, operation_id, response, **case):
    try:
        schema.find_operation_by_id(operation_id).Case(**case).validate_response(response, checks=CHECKS)
    except (Failure, FailureGroup) as exc:
        return str(exc)
    return None


PENDING_PUSH = {"changes": [], "dataType": "bankTransactions", "companyId": "9c1b6e42-3d4f-4b8a-a1e2-7f6d5c4b3a21",
                "pushOperationKey": "5f3b2c1a-7d4e-4f6a-9b8c-0d1e2f3a4b5c",
                "dataConnectionKey": "2e9d2c44-f675-40ba-8049-353bfcb5e171",
                "requestedOnUtc": "2025-01-09T14:14:14.105747Z", "timeoutInMinutes": None,
                "timeoutInSeconds": None, "status": "Pending", "errorMessage": None,
                "validation": {"errors": [], "warnings": []}, "statusCode": 202}


def test_the_checks_refuse_what_codats_spec_does_not_allow():
    schema = codat_schema()
    ids = {"companyId": "9c1b6e42-3d4f-4b8a-a1e2-7f6d5c4b3a21"}

    assert "Undocumented status code" in verdict(schema, "create-connection", answer(400, {}), path_parameters=ids)
    wrong_type = {**PENDING_PUSH, "statusCode": "202"}
    assert verdict(schema, "get-create-operation", answer(200, wrong_type),
                   path_parameters={**ids, "pushOperationKey": PENDING_PUSH["pushOperationKey"]})
    assert verdict(schema, "get-create-operation", answer(200, PENDING_PUSH),
                   path_parameters={**ids, "pushOperationKey": PENDING_PUSH["pushOperationKey"]}) is None


def test_nullable_is_read_as_or_null():
    assert nullable_as_null_type({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert nullable_as_null_type({"$ref": "#/x", "nullable": True}) == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}
    assert nullable_as_null_type({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"], "enum": ["a", None]}
    # Read as the JSON Schema of 3.1, Codat's own field refuses the null it means to allow.
    error_message = json.loads(CODAT_SPEC.read_text())["components"]["schemas"]["PushOperation"]["properties"][
        "errorMessage"]
    assert not Draft202012Validator(error_message).is_valid(None)
    assert Draft202012Validator(nullable_as_null_type(error_message)).is_valid(None)
