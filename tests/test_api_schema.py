"""The partner API's own OpenAPI document: valid OpenAPI 3, and it covers every
operation of DESIGN.md's table with Codat's paths, methods and operation ids."""

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

C = "/api/companies/{companyId}"
CC = C + "/connections/{connectionId}"
OPERATIONS = {
    ("post", "/api/companies"): "create-company",
    ("get", "/api/companies"): "list-companies",
    ("get", C): "get-company",
    ("put", C): "replace-company",
    ("patch", C): "update-company",
    ("delete", C): "delete-company",
    ("get", C + "/connections"): "list-connections",
    ("post", C + "/connections"): "create-connection",
    ("get", CC): "get-connection",
    ("patch", CC): "unlink-connection",
    ("delete", CC): "delete-connection",
    ("post", CC + "/connectionInfo/bankFeedAccounts"): "create-source-account",
    ("post", CC + "/connectionInfo/bankFeedAccounts/batch"): "create-batch-source-account",
    ("get", CC + "/connectionInfo/bankFeedAccounts"): "list-source-accounts",
    ("patch", CC + "/connectionInfo/bankFeedAccounts/{accountId}"): "update-source-account",
    ("delete", CC + "/connectionInfo/bankFeedAccounts/{accountId}"): "delete-source-account",
    ("get", CC + "/bankFeedAccounts/mapping"): "get-bank-account-mapping",
    ("post", CC + "/bankFeedAccounts/mapping"): "create-bank-account-mapping",
    ("get", CC + "/bankFeeds/info"): "get-company-information",
    ("post", CC + "/push/bankAccounts/{accountId}/bankTransactions"): "create-bank-transactions",
    ("get", CC + "/options/bankAccounts/{accountId}/bankTransactions"): "get-create-bank-transactions-model",
    ("get", C + "/push/{pushOperationKey}"): "get-create-operation",
    ("get", C + "/push"): "list-create-operations",
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_covers_every_operation_with_codats_ids(schema):
    found = {(method, path): op.get("operationId") for path, item in schema["paths"].items()
             for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")}
    missing = {k: v for k, v in OPERATIONS.items() if found.get(k) != v}
    assert not missing, missing


def test_errors_are_documented_as_error_message(schema):
    create = schema["paths"]["/api/companies"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorMessage"


def test_the_docs_page_renders(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content
    assert b"https://" not in response.content  # nothing from the internet


def operations(schema):
    return {op["operationId"]: op for item in schema["paths"].values() for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_operation_has_a_summary_and_a_description(schema):
    bare = [op_id for op_id, op in operations(schema).items() if not op.get("summary") or not op.get("description")]
    assert bare == []


def test_list_operations_are_documented_as_codats_page(schema):
    for op_id in ("list-companies", "list-connections", "list-create-operations"):
        op = operations(schema)[op_id]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["required"]) == {"pageNumber", "pageSize", "totalResults", "_links"}, op_id
        assert page["properties"]["results"]["type"] == "array"
        assert page["properties"]["pageSize"]["maximum"] == 2000
        assert {p["name"] for p in op["parameters"]} >= {"page", "pageSize", "query", "orderBy"}


def test_the_push_documents_its_statuses_and_xeros_status_code(schema):
    push = schema["components"]["schemas"]["CreateBankTransactionsResponse"]["properties"]
    statuses = schema["components"]["schemas"]["PushOperationStatusEnum"]["enum"]
    assert statuses == ["Pending", "Failed", "Success", "TimedOut"]
    assert "202" in push["statusCode"]["description"] and "Pending" in push["status"]["description"]
    examples = operations(schema)["create-bank-transactions"]["responses"]["200"]["content"]["application/json"][
        "examples"]
    assert {e["value"]["status"] for e in examples.values()} == {"Pending", "Failed"}


def test_the_introduction_tells_a_partner_how_to_start(schema):
    introduction = schema["info"]["description"]
    for topic in ("# Authentication", 'server_url="https://HOST/api"', "# Paging", "# Idempotency-Key", "# Errors",
                  "# The push, synchronous"):
        assert topic in introduction


# Its answer carries the consumer's signing secret, which a replayable answer would keep.
NOT_UNDER_IDEMPOTENCY_KEY = {"create-webhook-consumer"}


def test_every_post_and_patch_documents_the_idempotency_key(schema):
    for op_id, op in operations(schema).items():
        parameters = {p["name"] for p in op.get("parameters", [])}
        if op_id in NOT_UNDER_IDEMPOTENCY_KEY:
            assert "Idempotency-Key" not in parameters, op_id
        elif op_id.startswith(("create-", "update-", "unlink-")):
            assert "Idempotency-Key" in parameters, op_id
            assert {"409", "422"} <= set(op["responses"]), op_id
