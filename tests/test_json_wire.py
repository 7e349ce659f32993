"""The partner API's JSON: answers written by orjson byte for byte as DRF's own renderer
writes them, and request bodies parsed as strictly as DRF's parser (or more)."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import ModelSerializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from apps.api.renderers import CodatJSONRenderer

pytestmark = pytest.mark.django_db

ANSWER = ReturnDict({
    "results": ReturnList([{"id": uuid.UUID("7a1b9c3e-0000-4000-8000-000000000001"), "name": "Café Ltd",
                            "created": datetime(2026, 3, 1, 9, 30, 15, 120000, tzinfo=UTC),
                            "local": datetime(2026, 3, 1, 9, 30), "day": date(2026, 3, 1),
                            "amount": Decimal("-12.50"), "balance": 1234.5, "reconciled": None,
                            "tags": {"tier": "gold", 3: "three"}, "ok": True}], serializer=None),
    "note": gettext_lazy("Not found."),
    "separators": "line\u2028paragraph\u2029end",
    "pageNumber": 1,
}, serializer=None)


def test_an_answer_is_the_same_bytes_as_drf_writes_but_for_exact_amounts():
    ours, drfs = CodatJSONRenderer().render(ANSWER), JSONRenderer().render(ANSWER)
    # DRF writes a Decimal through float; ours is the number itself (docs/SECURITY.md, amounts).
    assert b'"amount":-12.50,' in ours and b'"amount":-12.5,' in drfs
    assert ours.replace(b'"amount":-12.50,', b'"amount":-12.5,') == drfs


def test_a_client_asking_for_indentation_gets_it_as_drf_writes_it():
    media_type = "application/json; indent=4"
    assert CodatJSONRenderer().render(ANSWER, media_type, {}) == JSONRenderer().render(ANSWER, media_type, {})
    assert b'\n    "results"' in CodatJSONRenderer().render(ANSWER, media_type, {})


@pytest.mark.parametrize(("body", "said"), [
    (b'{"name": NaN}', "JSON parse error"), (b'{"name": "x",}', "JSON parse error"),
    (b'{"name": "\\ud800"}', "lone UTF-16 surrogate"), (b'\xff\xfe', "JSON parse error"),
    (b'{"name": 1e400}', "out of range")])
def test_a_body_that_is_not_strict_json_is_a_400_error_message(partner_a, body, said):
    response = partner_a.post("/api/companies", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert said in response.json()["error"]


def test_a_body_is_read_whole_and_answered_in_the_same_json(partner_a):
    response = partner_a.post("/api/companies", data='{"name": "Café \u2028 Ltd", "description": "ü"}'.encode(),
                              content_type="application/json")

    assert response.status_code == 200
    assert response.json()["description"] == "ü"
    assert "\\u2028" in response.content.decode()


@pytest.mark.parametrize(("status", "status_code", "completed", "timeout", "message"), [
    ("Pending", 202, False, None, None),
    ("Success", 200, True, 30, None),
    ("Failed", 400, True, None, "Xero refused the statement."),
    ("TimedOut", 202, True, 5, "Xero gave no final answer."),
])
def test_a_push_operation_reads_on_the_wire_as_drfs_own_fields_would_write_it(status, status_code, completed, timeout,
                                                                              message):
    from django.utils import timezone

    from apps.feeds.serializers import CreateBankTransactionsOutput, PushOperationOutput
    from tests.factories import BankTransactionFactory, PushOperationFactory

    operation = PushOperationFactory(
        status=status, status_code=status_code, timeout_in_minutes=timeout, error_message=message,
        completed_on=timezone.now() if completed else None,
        validation={"errors": [{"itemId": "t1", "message": "m", "validatorName": "v"}] if message else [],
                    "warnings": [{"itemId": None, "message": "w", "validatorName": "BalanceGap"}]})
    BankTransactionFactory.create_batch(3, push_operation=operation, description="Café", amount=Decimal("-12.50"))

    def drfs_own(output):
        """DRF's field-by-field representation of the declared fields, completedOnUtc left
        out while it is null (Codat's schema does not allow null there)."""
        body = ModelSerializer.to_representation(output(operation), operation)
        if body["completedOnUtc"] is None:
            del body["completedOnUtc"]
        return body

    for output in (PushOperationOutput, CreateBankTransactionsOutput):
        written = output(operation).data
        assert list(written) == list(drfs_own(output))
        assert CodatJSONRenderer().render(written) == CodatJSONRenderer().render(drfs_own(output))
    listed = PushOperationOutput([operation, operation], many=True).data
    assert listed[0] == drfs_own(PushOperationOutput)
    assert ("completedOnUtc" in listed[0]) == completed
    assert len(CreateBankTransactionsOutput(operation).data["data"]["transactions"]) == 3


def test_a_pushs_transactions_written_ahead_of_its_answer_read_the_same_plain_and_indented():
    # A push writes its answer's `data` while Xero reads the statement; the answer is the same bytes.
    from apps.feeds.models import PushOperation
    from apps.feeds.serializers import CreateBankTransactionsOutput
    from tests.factories import BankTransactionFactory, PushOperationFactory

    operation = PushOperationFactory(status="Pending", status_code=202)
    BankTransactionFactory.create_batch(3, push_operation=operation, description="line\u2028paragraph",
                                        amount=Decimal("9876543210987.6543"))
    ahead = PushOperation.objects.get(pk=operation.pk)
    CreateBankTransactionsOutput.write_data_ahead(ahead)
    renderer = CodatJSONRenderer()
    for accepted in (None, "application/json; indent=2"):
        assert (renderer.render(CreateBankTransactionsOutput(ahead).data, accepted)
                == renderer.render(CreateBankTransactionsOutput(operation).data, accepted))
    assert b"9876543210987.6543" in renderer.render(CreateBankTransactionsOutput(ahead).data)
