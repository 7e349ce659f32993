"""Batch create: each item on its own; 201 all created, 207 mixed, 409 all duplicates."""

import pytest

from apps.feeds import serializers
from apps.feeds.models import SourceAccount

from .accounts_support import batch_url, v2_body

pytestmark = pytest.mark.django_db


def test_it_answers_201_when_every_account_is_created(partner_a, connection):
    items = [v2_body(id="a1"), v2_body(id="a2", accountType="creditCard")]

    response = partner_a.post(batch_url(connection), items, format="json")

    assert response.status_code == 201, response.json()
    results = response.json()
    assert [r["sourceAccountId"] for r in results] == ["a1", "a2"]
    assert results[0]["result"]["statusCode"] == 201
    assert results[0]["result"]["error"] is None
    assert results[1]["result"]["account"]["accountType"] == "creditCard"
    assert results[1]["result"]["account"]["status"] == "pending"
    assert SourceAccount.objects.filter(connection=connection).count() == 2


def test_it_answers_207_with_per_item_results_when_some_fail(partner_a, connection):
    partner_a.post(batch_url(connection), [v2_body(id="old")], format="json")
    items = [v2_body(id="new"), v2_body(id="old"), v2_body(id="bad", currency="XX"), "not an object",
             v2_body(id="new")]

    response = partner_a.post(batch_url(connection), items, format="json")

    assert response.status_code == 207, response.json()
    results = response.json()
    assert [r["result"]["statusCode"] for r in results] == [201, "409", "400", "400", "409"]
    assert results[1]["result"]["error"] == serializers.BATCH_DUPLICATE.format(id="old")
    assert "currency" in results[2]["result"]["error"]
    assert "sourceAccountId" not in results[3]
    assert set(SourceAccount.objects.values_list("account_id", flat=True)) == {"old", "new"}


def test_it_answers_409_when_every_account_exists(partner_a, connection):
    partner_a.post(batch_url(connection), [v2_body(id="a1"), v2_body(id="a2")], format="json")

    response = partner_a.post(batch_url(connection), [v2_body(id="a1"), v2_body(id="a2")], format="json")

    assert response.status_code == 409
    assert [r["result"]["statusCode"] for r in response.json()] == ["409", "409"]


def test_v1_items_are_answered_in_v1_shape(partner_a, connection):
    response = partner_a.post(batch_url(connection), [{"id": "v1", "accountType": "Debit", "currency": "EUR"}],
                              format="json")

    assert response.status_code == 201
    assert response.json()[0]["result"]["account"]["accountType"] == "Debit"


@pytest.mark.parametrize("body", [[], {"id": "a1"}])
def test_a_body_that_is_not_a_list_of_accounts_is_refused_whole(partner_a, connection, body):
    response = partner_a.post(batch_url(connection), body, format="json")

    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0]["message"] == serializers.BATCH_EMPTY.format(
        limit=serializers.BATCH_LIMIT)


@pytest.mark.parametrize("currency", [{}, []], ids=["object", "array"])
def test_a_currency_that_is_not_a_string_refuses_that_item_only(partner_a, connection, currency):
    response = partner_a.post(batch_url(connection), [v2_body(id="ok"), v2_body(id="bad", currency=currency)],
                              format="json")

    assert response.status_code == 207, response.content
    results = response.json()
    assert [r["result"]["statusCode"] for r in results] == [201, "400"]
    assert "currency" in results[1]["result"]["error"]
    assert list(SourceAccount.objects.values_list("account_id", flat=True)) == ["ok"]


def test_a_batch_keeps_the_connection_in_one_version(partner_a, connection):
    items = [v2_body(id="v2"), {"id": "v1", "accountType": "Debit", "currency": "EUR"}, {"id": "bare"}]

    response = partner_a.post(batch_url(connection), items, format="json")

    assert response.status_code == 207, response.json()
    results = response.json()
    assert [r["result"]["statusCode"] for r in results] == [201, "400", "400"]
    assert "are v2" in results[1]["result"]["error"]
    # Read as v2, the connection's version: what it lacks is named.
    assert "accountName" in results[2]["result"]["error"]
    assert list(SourceAccount.objects.values_list("api_version", flat=True)) == ["v2"]
