"""Codat's official Python SDK drives the companies operations against this server."""

import pytest
from codat_bankfeeds.models import errors

from apps.tenants.models import Company

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sdk_runs_every_companies_operation(codat_sdk, partner_a):
    created = codat_sdk.companies.create(request={"name": "Bank of Dave", "description": "early access"})
    assert created.name == "Bank of Dave"
    codat_sdk.companies.create(request={"name": "Second (Co)", "tags": {"region": "uk"}})

    page = codat_sdk.companies.list(request={"page": 1, "page_size": 1, "order_by": "name"})
    assert page.total_results == 2
    assert [c.name for c in page.results] == ["Bank of Dave"]
    assert page.links.next.href.endswith("page=2&pageSize=1")

    found = codat_sdk.companies.list(request={"query": "name~second"})
    assert [c.name for c in found.results] == ["Second Co"]

    fetched = codat_sdk.companies.get(request={"company_id": created.id})
    assert fetched.description == "early access"

    updated = codat_sdk.companies.update(
        request={"company_id": created.id, "company_update_request": {"description": "approved"}})
    assert (updated.name, updated.description) == ("Bank of Dave", "approved")

    replaced = codat_sdk.companies.replace(
        request={"company_id": created.id, "company_request_body": {"name": "Dave Ltd"}})
    assert (replaced.name, replaced.description) == ("Dave Ltd", None)

    assert codat_sdk.companies.delete(request={"company_id": created.id}) is None
    assert not Company.objects.filter(pk=created.id).exists()


def test_the_sdk_raises_typed_error_messages(codat_sdk):
    with pytest.raises(errors.ErrorMessage) as not_found:
        codat_sdk.companies.get(request={"company_id": "6f1c1a57-2b36-4b35-9a8f-8d8a7c1f0000"})
    assert not_found.value.status_code == 404
    assert not_found.value.data.status_code == 404

    with pytest.raises(errors.ErrorMessage) as bad:
        codat_sdk.companies.create(request={"name": "()[]"})
    assert bad.value.status_code == 400
    assert bad.value.data.validation.errors[0].item_id == "name"
    assert not Company.objects.exists()
