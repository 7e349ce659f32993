"""Secrets at rest and on the wire: API keys are stored only as hashes, Xero tokens only
encrypted (read with raw SQL, as someone with a database dump would), and no API answer
ever carries a token or a key."""

import pytest
import yaml
from django.db import connection as db

from apps.tenants.models import PartnerApiKey
from apps.xero_auth.models import XeroConnection

pytestmark = pytest.mark.django_db


def raw_rows(model):
    """Every column of every row of the model's table, as the database returns them."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {db.ops.quote_name(model._meta.db_table)}")  # noqa: S608
        return [" ".join(map(str, row)) for row in cursor.fetchall()]


def test_the_api_key_table_holds_no_raw_key(partner_a, partner_b):
    rows = raw_rows(PartnerApiKey)
    assert len(rows) == 2
    for raw in (partner_a.raw_key, partner_b.raw_key):
        assert not any(raw in row for row in rows)
        assert not any(raw[12:] in row for row in rows)  # only the visible prefix is kept
    assert PartnerApiKey.objects.authenticate(partner_a.raw_key).partner == partner_a.partner


def test_the_connection_table_holds_no_plaintext_token(linked_connection):
    # tests/xero_auth/test_token_storage.py decrypts the columns; this scans the whole row.
    rows = raw_rows(XeroConnection)
    assert linked_connection.access_token and linked_connection.refresh_token
    assert not any(linked_connection.access_token in row or linked_connection.refresh_token in row for row in rows)


def test_no_api_answer_carries_a_token_or_a_key(client, partner_a, connected_account):
    connection = connected_account.connection
    connection.refresh_from_db()
    secrets_ = [connection.access_token, connection.refresh_token, partner_a.raw_key,
                PartnerApiKey.objects.get(partner=partner_a.partner).hashed_key]
    params = {"companyId": connection.company_id, "connectionId": connection.pk, "accountId": "acc-1",
              "pushOperationKey": "00000000-0000-0000-0000-000000000000"}
    schema = yaml.safe_load(client.get("/api/schema/").content)
    pushed = partner_a.post(
        f"/api/companies/{connection.company_id}/connections/{connection.pk}/push/bankAccounts/acc-1/bankTransactions",
        {"accountId": "acc-1", "transactions": [{"id": "t1", "date": "2020-01-02", "amount": 1, "balance": 1}]},
        format="json")
    params["pushOperationKey"] = pushed.json().get("pushOperationKey") or pushed.json()["correlationId"]
    answers = [pushed]
    for path, item in schema["paths"].items():
        if "get" in item:
            answers.append(partner_a.get(path.format(**params)))
    assert sum(r.status_code == 200 for r in answers) >= 9
    for response in answers:
        body = response.content.decode()
        assert not any(secret in body for secret in secrets_), response.request["PATH_INFO"]
        assert not any(secret in str(response.headers) for secret in secrets_)


def test_api_answers_tell_browsers_not_to_sniff_or_frame(partner_a):
    response = partner_a.get("/api/companies")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/json"
    assert response["X-Frame-Options"] == "DENY"
