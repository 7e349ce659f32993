"""Codat's official SDK (codat-bankfeeds), pointed at this server as a partner would point
it, drives every one of the 23 operations, and each refusal a partner can provoke with it
comes back as the SDK's typed `errors.ErrorMessage` with the status expected: a status
Codat's spec lists for the operation, so the SDK can type it (docs/API.md)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from codat_bankfeeds.models import errors
from django.utils import timezone

from apps.feeds.models import SourceAccount
from apps.tenants.models import Company
from apps.xero_auth import connections
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory
from tests.feeds.push_support import batch

pytestmark = pytest.mark.django_db(transaction=True)


def v2(account_id, **overrides):
    return {"id": account_id, "account_name": f"Account {account_id}", "account_type": "checking",
            "account_number": "40001234", "sort_code": "40-00-00", "currency": "GBP", "balance": Decimal("250.00"),
            **overrides}


def test_the_sdk_runs_every_operation(codat_sdk, linked_connection):
    sdk = codat_sdk
    # Companies and a connection waiting for its company.
    company = sdk.companies.create(request={"name": "SDK Co", "tags": {"region": "uk"}})
    assert sdk.companies.list(request={"query": "name=SDK Co"}).results[0].id == company.id
    assert sdk.companies.get(request={"company_id": company.id}).tags == {"region": "uk"}
    updated = sdk.companies.update(request={"company_id": company.id, "company_update_request": {
        "description": "early access"}})
    assert updated.description == "early access"
    replaced = sdk.companies.replace(request={"company_id": company.id, "company_request_body": {"name": "SDK Ltd"}})
    assert (replaced.name, replaced.description, replaced.tags) == ("SDK Ltd", None, {})
    pending = sdk.connections.create(request={"company_id": company.id, "request_body": {"platform_key": "gbol"}})
    assert pending.status == "PendingAuth"
    again = sdk.connections.create(request={"company_id": company.id, "request_body": {"platform_key": "gbol"}})
    assert again.id == pending.id
    assert [c.id for c in sdk.connections.list(request={"company_id": company.id}).results] == [pending.id]
    assert sdk.connections.get(request={"company_id": company.id, "connection_id": pending.id}).link_url

    # Source accounts, mapping and a push on the connection Linked to Xero.
    where = {"company_id": str(linked_connection.company_id), "connection_id": str(linked_connection.id)}
    created = sdk.source_accounts.create(request={**where, "request_body": v2("sdk-1")})
    assert (created.id, created.status) == ("sdk-1", "pending")
    made = sdk.source_accounts.create_batch(request={**where, "request_body": [v2("sdk-2"), v2("sdk-3")]})
    assert [item.source_account_id for item in made] == ["sdk-2", "sdk-3"]
    assert [a.id for a in sdk.source_accounts.list(request=where)] == ["sdk-1", "sdk-2", "sdk-3"]
    renamed = sdk.source_accounts.update(request={**where, "account_id": "sdk-2", "source_account": {
        "id": "sdk-2", "account_name": "Renamed"}})
    assert (renamed.id, renamed.account_name) == ("sdk-2", "Renamed")
    mappings = sdk.account_mapping.get(request=where)
    target = next(o for o in next(m for m in mappings if m.source_account_id == "sdk-1").target_account_options
                  if o.name == "Business Bank Account")
    # The feed starts before the batch's lines (nothing dated before it is sent).
    start = (timezone.now() - timedelta(days=30)).date().isoformat()
    mapped = sdk.account_mapping.create(request={**where, "bank_feed_account_mapping": {
        "source_account_id": "sdk-1", "target_account_id": target.id, "feed_start_date": start}})
    assert mapped.status == "connected"
    information = sdk.company_information.get(request=where)
    assert (information.company_name, information.base_currency) == ("Demo Company (UK)", "GBP")
    model = sdk.transactions.get_create_model(request={**where, "account_id": "sdk-1"})
    assert model.properties["transactions"].required is True
    pushed = sdk.transactions.create(request={**where, "account_id": "sdk-1", "create_bank_transactions": {
        "account_id": "sdk-1", "transactions": batch(3, opening=Decimal("250.00"))}})
    assert (pushed.status, pushed.status_code, pushed.completed_on_utc) == ("Pending", 202, None)
    settled = sdk.transactions.get_create_operation(request={
        "company_id": where["company_id"], "push_operation_key": pushed.push_operation_key})
    assert (settled.status, settled.status_code) == ("Success", 200)
    page = sdk.transactions.list_create_operations(request={"company_id": where["company_id"], "page_size": 5000})
    assert ([o.push_operation_key for o in page.results], page.page_size) == ([pushed.push_operation_key], 2000)
    assert sdk.source_accounts.delete(request={**where, "account_id": "sdk-3"}) is None

    # Unlinking (no status: Codat makes it optional), deleting.
    unlinked = sdk.connections.unlink(request={"company_id": company.id, "connection_id": pending.id})
    assert unlinked.status == "Unlinked"
    assert sdk.connections.delete(request={"company_id": company.id, "connection_id": pending.id}) is None
    assert sdk.companies.delete(request={"company_id": company.id}) is None
    assert not Company.objects.filter(pk=company.id).exists()
    assert list(SourceAccount.objects.order_by("account_id").values_list("account_id", "status")) == [
        ("sdk-1", "connected"), ("sdk-2", "pending")]


@pytest.fixture
def pending(partner_a):
    """Partner A's company with a PendingAuth connection holding one v2 source account."""
    connection = connections.connection_create(company=CompanyFactory(partner=partner_a.partner, name="Acme"))
    SourceAccount.objects.create(connection=connection, account_id="v2-1", account_name="Current",
                                 account_type="checking", account_number="12345678", sort_code="40-00-00",
                                 currency="GBP", balance=Decimal("10.00"))
    return {"company_id": str(connection.company_id), "connection_id": str(connection.pk)}


TOO_MANY_TAGS = {f"tag{i}": "v" for i in range(11)}
REFUSALS = {
    # what the partner does: (how the SDK is asked, the status it gets)
    "create-connection with an unknown platformKey": (
        lambda sdk, ids: sdk.connections.create(request={"company_id": ids["company_id"],
                                                         "request_body": {"platform_key": "qbon"}}), 404),
    "unlink-connection to another status": (
        lambda sdk, ids: sdk.connections.unlink(request={**ids, "request_body": {"status": "Linked"}}), 403),
    "replace-company with 11 tags": (
        lambda sdk, ids: sdk.companies.replace(request={"company_id": ids["company_id"], "company_request_body": {
            "name": "Acme", "tags": TOO_MANY_TAGS}}), 403),
    "replace-company with a 28-character tag name": (
        lambda sdk, ids: sdk.companies.replace(request={"company_id": ids["company_id"], "company_request_body": {
            "name": "Acme", "tags": {"t" * 28: "v"}}}), 403),
    "update-company with 11 tags": (
        lambda sdk, ids: sdk.companies.update(request={"company_id": ids["company_id"], "company_update_request": {
            "tags": TOO_MANY_TAGS}}), 403),
    "update-company with a 28-character tag name": (
        lambda sdk, ids: sdk.companies.update(request={"company_id": ids["company_id"], "company_update_request": {
            "tags": {"t" * 28: "v"}}}), 403),
    "get-bank-account-mapping of a connection not Linked": (
        lambda sdk, ids: sdk.account_mapping.get(request=ids), 403),
    "create-source-account in v1 on a v2 connection": (
        lambda sdk, ids: sdk.source_accounts.create(request={**ids, "request_body": {
            "id": "v1-1", "account_type": "Debit", "currency": "GBP", "sort_code": "40-00-00"}}), 400),
    "create-source-account in v1 without a currency": (
        lambda sdk, ids: sdk.source_accounts.create(request={**ids, "request_body": {"id": "v1-2"}}), 400),
    "create-bank-transactions to an account that is not connected": (
        lambda sdk, ids: sdk.transactions.create(request={**ids, "account_id": "v2-1", "create_bank_transactions": {
            "account_id": "v2-1", "transactions": batch(1)}}), 400),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_each_refusal_is_a_typed_error_message(codat_sdk, pending, refusal):
    ask, status = REFUSALS[refusal]
    before = (list(Company.objects.values()), list(XeroConnection.objects.values("status")),
              list(SourceAccount.objects.values_list("account_id", flat=True)))

    with pytest.raises(errors.ErrorMessage) as refused:
        ask(codat_sdk, pending)

    assert refused.value.status_code == status
    assert refused.value.data.status_code == status
    assert refused.value.data.error
    assert (list(Company.objects.values()), list(XeroConnection.objects.values("status")),
            list(SourceAccount.objects.values_list("account_id", flat=True))) == before


def test_an_idempotency_key_reused_for_another_request_is_codats_422(codat_sdk):
    """Codat documents this one itself (a 422, and a 409 while the first runs) without
    listing it in its spec, so its SDK raises the untyped SDKError for it, as against Codat."""
    first = codat_sdk.companies.create(request={"name": "Once"}, http_headers={"Idempotency-Key": "key-1"})
    replayed = codat_sdk.companies.create(request={"name": "Once"}, http_headers={"Idempotency-Key": "key-1"})
    assert replayed.id == first.id

    with pytest.raises(errors.SDKError) as reused:
        codat_sdk.companies.create(request={"name": "Twice"}, http_headers={"Idempotency-Key": "key-1"})

    assert reused.value.status_code == 422
    assert json.loads(reused.value.body)["statusCode"] == 422
    assert list(Company.objects.values_list("name", flat=True)) == ["Once"]
