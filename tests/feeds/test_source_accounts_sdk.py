"""Codat's official SDK drives source accounts and the account mapping end to end against
this server and the embedded Xero sandbox: no browser involved."""

from decimal import Decimal

import pytest
from codat_bankfeeds.models import errors

from apps.feeds.models import SourceAccount
from tests.xero_helpers import live_feeds, xero_account

pytestmark = pytest.mark.django_db(transaction=True)


def ids(connection):
    return {"company_id": str(connection.company_id), "connection_id": str(connection.id)}


def v2(account_id, **overrides):
    body = {"id": account_id, "account_name": f"Account {account_id}", "account_type": "checking",
            "account_number": "40001234", "sort_code": "40-00-00", "currency": "GBP", "balance": Decimal("250.00")}
    return {**body, **overrides}


def test_the_sdk_runs_source_accounts_and_mapping(codat_sdk, linked_connection):
    where = ids(linked_connection)

    created = codat_sdk.source_accounts.create(request={**where, "request_body": v2("sdk-1")})
    assert (created.id, created.status) == ("sdk-1", "pending")

    batch = codat_sdk.source_accounts.create_batch(request={**where, "request_body": [
        v2("sdk-2", account_type="creditCard", account_number="4000 0000 0000 1234"), v2("sdk-3")]})
    assert [item.source_account_id for item in batch] == ["sdk-2", "sdk-3"]

    listed = codat_sdk.source_accounts.list(request=where)
    assert [a.id for a in listed] == ["sdk-1", "sdk-2", "sdk-3"]

    updated = codat_sdk.source_accounts.update(request={**where, "account_id": "sdk-3", "source_account": {
        "id": "sdk-3", "account_name": "Renamed", "balance": Decimal("10")}})
    assert (updated.account_name, updated.balance) == ("Renamed", Decimal("10"))

    mappings = codat_sdk.account_mapping.get(request=where)
    card = next(m for m in mappings if m.source_account_id == "sdk-2")
    assert [o.name for o in card.target_account_options] == ["Company Credit Card"]
    bank = next(m for m in mappings if m.source_account_id == "sdk-1")
    target = next(o for o in bank.target_account_options if o.name == "Business Bank Account")

    mapped = codat_sdk.account_mapping.create(request={**where, "bank_feed_account_mapping": {
        "source_account_id": "sdk-1", "target_account_id": target.id}})
    assert (mapped.status, mapped.target_account_id, mapped.error) == ("connected", target.id, None)
    new = codat_sdk.account_mapping.create(request={**where, "bank_feed_account_mapping": {
        "source_account_id": "sdk-3"}})
    assert new.status == "connected"

    listed = {a.id: a for a in codat_sdk.source_accounts.list(request=where)}
    assert listed["sdk-1"].status == "connected"
    assert listed["sdk-1"].feed_start_date is not None
    assert live_feeds(xero_account("Business Bank Account"))

    assert codat_sdk.source_accounts.delete(request={**where, "account_id": "sdk-1"}) is None
    assert not live_feeds(xero_account("Business Bank Account"))
    assert not SourceAccount.objects.filter(account_id="sdk-1").exists()


def test_the_sdk_gets_typed_errors(codat_sdk, linked_connection):
    where = ids(linked_connection)
    codat_sdk.source_accounts.create(request={**where, "request_body": v2("dup")})

    with pytest.raises(errors.ErrorMessage) as duplicate:
        codat_sdk.source_accounts.create(request={**where, "request_body": v2("dup")})
    assert duplicate.value.status_code == 400
    assert duplicate.value.data.validation.errors[0].item_id == "id"

    with pytest.raises(errors.ErrorMessage) as missing:
        codat_sdk.source_accounts.delete(request={**where, "account_id": "ghost"})
    assert missing.value.status_code == 404


def test_the_sdk_reads_a_mixed_batch(codat_sdk, linked_connection):
    where = ids(linked_connection)
    codat_sdk.source_accounts.create(request={**where, "request_body": v2("old")})

    results = codat_sdk.source_accounts.create_batch(request={**where, "request_body": [v2("old"), v2("new")]})

    assert [r.result.status_code for r in results] in (["409", 201], [409, 201])
    assert results[1].result.account.status == "pending"
