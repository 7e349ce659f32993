"""Bad input from a partner is a 4xx ErrorMessage and writes nothing: each case here was a
500 (or a worker's CPU for seconds) before. Issue #13, points 1 to 6, 8, 9 and 16."""

import base64
import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.utils import timezone

from apps.api.models import IdempotencyRecord
from apps.feeds.models import BankTransaction, FeedConnection, FeedStatus, PushOperation, SourceAccount
from apps.feeds.statements import MAX_TRANSACTIONS, TEXT_LIMITS
from apps.tenants.models import AuditEvent, Company
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

ERROR_MESSAGE_KEYS = {"statusCode", "service", "error", "correlationId", "canBeRetried", "detailedErrorCode"}
WATCHED = [Company, XeroConnection, SourceAccount, FeedConnection, PushOperation, BankTransaction, AuditEvent,
           IdempotencyRecord]


@pytest.fixture
def account(partner_a):
    """Source account acc-1 with a connected feed on a Linked connection of partner A.
    Nothing here reaches Xero: every request is refused before."""
    company = CompanyFactory(partner=partner_a.partner, name="Hostile Co")
    connection = XeroConnection.objects.create(
        company=company, status=ConnectionStatus.LINKED, tenant_id=uuid.uuid4(), access_token="unused",
        refresh_token="unused", access_token_expires_at=timezone.now() + timedelta(minutes=30))
    account = SourceAccount.objects.create(connection=connection, account_id="acc-1", account_name="Current",
                                           account_type="checking", currency="GBP", status="connected",
                                           account_number="12345678", sort_code="40-00-00")
    FeedConnection.objects.create(source_account=account, xero_feed_connection_id=uuid.uuid4(), account_token="t",
                                  status=FeedStatus.CONNECTED)
    return account


def base(account):
    return f"/api/companies/{account.connection.company_id}/connections/{account.connection_id}"


def push_path(account, account_id=None):
    return f"{base(account)}/push/bankAccounts/{account_id or account.account_id}/bankTransactions"


def rows():
    return {model.__name__: model.objects.count() for model in WATCHED}


def refused_with_nothing_written(response, before, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert ERROR_MESSAGE_KEYS <= body.keys() and body["statusCode"] == status, body
    assert rows() == before
    return body


def raw_post(partner, url, text, method="post", **headers):
    return getattr(partner.http, method)(url, data=text.encode() if isinstance(text, str) else text,
                                         content_type="application/json", **headers)


def transaction(**fields):
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    return {"id": "t1", "date": day, "amount": -1.25, "balance": 98.75, "description": "Coffee", **fields}


# --- 1. Authorization -------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Basic \u00fc", "Basic YWJj\u00e9", "Basic \x80\x81"])
def test_a_non_ascii_byte_in_authorization_is_a_401_not_a_500(client, header):
    response = client.get("/api/companies", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert ERROR_MESSAGE_KEYS <= response.json().keys()


def test_a_key_that_is_not_utf8_is_a_401(client):
    header = "Basic " + base64.b64encode(b"\xff\xfe").decode()
    assert client.get("/api/companies", HTTP_AUTHORIZATION=header).status_code == 401


# --- 2. Nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_deeper_than_32_levels_is_a_400_that_writes_nothing(partner_a, account, depth):
    before = rows()
    deep = "[" * depth + "]" * depth
    body = refused_with_nothing_written(raw_post(partner_a, "/api/companies", f'{{"name": "Deep", "tags": {deep}}}'),
                                        before)
    assert "at most 32 levels" in body["error"]
    unclosed = raw_post(partner_a, f"{base(account)}/connectionInfo/bankFeedAccounts/batch", "[" * depth,
                        HTTP_IDEMPOTENCY_KEY="deep-1")
    refused_with_nothing_written(unclosed, before)


def test_json_nested_32_levels_deep_is_read(partner_a):
    nested = "[" * 30 + "]" * 30  # with the body and tags: 32 levels
    response = raw_post(partner_a, "/api/companies", f'{{"name": "Deep", "tags": {{"k": {nested}}}}}')
    assert response.status_code == 400  # a tag must be text: the body was read, and judged
    assert response.json()["validation"]["errors"][0]["itemId"].startswith("tags")


def test_brackets_inside_strings_are_text_not_nesting(partner_a):
    response = partner_a.post("/api/companies", {"name": "Brackets", "description": "[" * 5000 + "{" * 5000},
                              format="json")
    assert response.status_code == 400  # over the description's limit, not "nested too deep"
    assert "levels" not in response.json()["error"]
    response = partner_a.post("/api/companies", {"name": "Brackets", "description": "[{" * 200}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("parameter", ["query", "tags"])
@pytest.mark.parametrize("depth", [11, 330, 5000])
def test_deeply_grouped_query_and_tags_filters_are_a_400(partner_a, parameter, depth):
    value = "{" * depth + "name=x" + "}" * depth
    response = partner_a.get("/api/companies", {parameter: value})
    assert response.status_code == 400, response.content
    assert "nest at most 10" in response.json()["error"]


def test_a_query_grouped_ten_deep_is_answered(partner_a):
    CompanyFactory(partner=partner_a.partner, name="Found")
    response = partner_a.get("/api/companies", {"query": "{" * 10 + "name=found" + "}" * 10})
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Found"]


def test_a_long_chain_of_comparisons_is_answered(partner_a):
    response = partner_a.get("/api/companies", {"query": " || ".join(["name=x && name~y"] * 300)})
    assert response.status_code == 200


# --- 3. Lone surrogates -------------------------------------------------------------------------


def surrogate_requests(account):
    v2 = ('{"id": "%s", "accountName": "%s", "accountType": "checking", "accountNumber": "1", '
          '"sortCode": "40-00-00", "currency": "GBP", "balance": 1, "routingInfo": {"bankCode": "%s"}}')
    txn = '{"id": "%s", "date": "%s", "amount": -1, "balance": 1, "description": "%s"}'
    day = timezone.now().date().isoformat()
    accounts = f"{base(account)}/connectionInfo/bankFeedAccounts"
    return {
        "a tag key": ("post", "/api/companies", '{"name": "S", "tags": {"k\\ud800": "v"}}'),
        "a tag value": ("post", "/api/companies", '{"name": "S", "tags": {"k": "\\udfff"}}'),
        "a company description": ("post", "/api/companies", '{"name": "S", "description": "x\\udc00y"}'),
        "a source account id": ("post", accounts, v2 % ("a\\ud800", "Current", "01")),
        "routingInfo.bankCode": ("post", accounts, v2 % ("acc-2", "Current", "\\ud800")),
        "a batch item": ("post", f"{accounts}/batch", "[" + v2 % ("acc-2", "\\udbff", "01") + "]"),
        "accountName on update": ("patch", f"{accounts}/acc-1", '{"accountName": "\\ud800"}'),
        "a transaction id": ("post", push_path(account),
                             '{"accountId": "acc-1", "transactions": [%s]}' % (txn % ("t\\ud800", day, "x"))),
        "a transaction description": ("post", push_path(account),
                                      '{"accountId": "acc-1", "transactions": [%s]}' % (txn % ("t1", day, "\\ud800"))),
        "a mapping's source account": ("post", f"{base(account)}/bankFeedAccounts/mapping",
                                       '{"sourceAccountId": "\\ud800"}'),
    }


SURROGATE_PLACES = ["a tag key", "a tag value", "a company description", "a source account id",
                    "routingInfo.bankCode", "a batch item", "accountName on update", "a transaction id",
                    "a transaction description", "a mapping's source account"]


def test_every_surrogate_place_is_tested(account):
    assert list(surrogate_requests(account)) == SURROGATE_PLACES


@pytest.mark.parametrize("where", SURROGATE_PLACES)
@pytest.mark.parametrize("with_key", [False, True])
def test_a_lone_surrogate_anywhere_in_a_body_is_a_400_that_writes_nothing(partner_a, account, where, with_key):
    method, url, text = surrogate_requests(account)[where]
    before = rows()
    headers = {"HTTP_IDEMPOTENCY_KEY": f"surrogate-{SURROGATE_PLACES.index(where)}"} if with_key else {}
    body = refused_with_nothing_written(raw_post(partner_a, url, text, method, **headers), before)
    assert "surrogate" in body["error"]


def test_a_surrogate_pair_is_an_ordinary_character(partner_a):
    response = raw_post(partner_a, "/api/companies", '{"name": "Pair", "description": "\\ud83d\\ude00"}')
    assert response.status_code == 200
    assert Company.objects.get().description == "\U0001f600"


@pytest.mark.parametrize("query", ["name=%ED%A0%80", "name~%ED%A0%80&tags=k%3D%ED%A0%80"])
def test_broken_utf8_in_a_query_is_text_not_a_500(partner_a, query):
    response = partner_a.get(f"/api/companies?query={query}")
    assert response.status_code == 200, response.content


def test_broken_utf8_in_a_path_id_is_not_found(partner_a, account):
    assert partner_a.get(f"{base(account)}/connectionInfo/bankFeedAccounts/a%ED%A0%80").status_code == 405
    response = partner_a.patch(f"{base(account)}/connectionInfo/bankFeedAccounts/a%ED%A0%80", {}, format="json")
    assert response.status_code == 404


# --- 4 and 9. Body size and free text -----------------------------------------------------------


@pytest.mark.parametrize("megabytes", [3.1, 5, 50])
@pytest.mark.parametrize("with_key", [False, True])
def test_a_body_over_the_limit_is_a_400_that_writes_nothing(partner_a, megabytes, with_key):
    before = rows()
    text = json.dumps({"name": "Big", "description": "x" * int(megabytes * 1_000_000)})
    headers = {"HTTP_IDEMPOTENCY_KEY": "big-1"} if with_key else {}
    body = refused_with_nothing_written(raw_post(partner_a, "/api/companies", text, **headers), before)
    assert f"at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes" in body["error"]


def test_a_thousand_lines_with_every_field_at_its_limit_fit_under_the_body_limit():
    line = transaction(id="t" * 255, description="d" * TEXT_LIMITS["description"],
                       counterparty="c" * TEXT_LIMITS["counterparty"], reference="r" * TEXT_LIMITS["reference"],
                       amount=-999999999999.9999, balance=999999999999.9999, transactionType="DirectDebit",
                       reconciled=False, date="2025-01-01T00:00:00")
    body = json.dumps({"accountId": "a" * 255, "transactions": [line] * MAX_TRANSACTIONS})
    assert len(body.encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.parametrize(("field", "limit"), [("name", 200), ("description", 1000)])
def test_company_text_is_bounded(partner_a, field, limit):
    at_limit = {"name": "Acme", field: "a" * limit}
    assert partner_a.post("/api/companies", at_limit, format="json").status_code == 200
    before = rows()
    over = {"name": "Acme", field: "a" * (limit + 1)}
    body = refused_with_nothing_written(partner_a.post("/api/companies", over, format="json"), before)
    assert body["validation"]["errors"][0]["itemId"] == field
    company = Company.objects.get()
    response = partner_a.patch(f"/api/companies/{company.pk}", over, format="json")
    # update-company lists no 400 in Codat's spec: its refusals are 403s (docs/API.md).
    refused_with_nothing_written(response, before, status=403)


def test_tags_are_bounded(partner_a):
    before = rows()
    for tags in ({"k": "v" * 101}, {"k" * 28: "v"}, {f"k{i}": "v" for i in range(11)}, {"k": {"nested": "v"}}):
        refused_with_nothing_written(partner_a.post("/api/companies", {"name": "T", "tags": tags}, format="json"),
                                     before)


def test_a_mapping_names_a_source_account_of_at_most_255_characters(partner_a, account):
    before = rows()
    response = partner_a.post(f"{base(account)}/bankFeedAccounts/mapping", {"sourceAccountId": "a" * 256},
                              format="json")
    body = refused_with_nothing_written(response, before)
    assert body["validation"]["errors"][0]["itemId"] == "sourceAccountId"


# --- 5. Calendar dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2024-02-30", "2023-02-29", "2024-13-01", "2024-04-31"])
def test_a_day_that_is_not_on_the_calendar_is_refused_as_account_open_date(partner_a, account, day):
    before = rows()
    body = {"id": "acc-2", "accountName": "Savings", "accountType": "savings", "accountNumber": "2",
            "sortCode": "40-00-00", "currency": "GBP", "balance": 1, "accountInfo": {"accountOpenDate": day}}
    response = partner_a.post(f"{base(account)}/connectionInfo/bankFeedAccounts", body, format="json")
    answer = refused_with_nothing_written(response, before)
    assert answer["validation"]["errors"][0]["itemId"] == "accountInfo.accountOpenDate"


def lists(account):
    company = account.connection.company_id
    return {"companies": ("/api/companies", "created"),
            "connections": (f"/api/companies/{company}/connections", "created"),
            "push operations": (f"/api/companies/{company}/push", "requestedOnUtc")}


@pytest.mark.parametrize("operation", ["companies", "connections", "push operations"])
@pytest.mark.parametrize("value", ["2024-02-30", "2024-01-01T25:00:00", "2024-01-01T10:61:00",
                                   "2024-01-01T10:00:00+23:59", "2024-01-01T10:00:00-23:59",
                                   "2024-01-01T10:00:00+14:01", "0001-01-01T00:00:00+23:00"])
def test_an_impossible_date_in_a_query_is_a_400(partner_a, account, operation, value):
    url, field = lists(account)[operation]
    response = partner_a.get(url, {"query": f"{field}>{value}"})
    assert response.status_code == 400, response.content
    assert "Malformed query" in response.json()["error"]


@pytest.mark.parametrize("value", ["2024-01-01T10:00:00+14:00", "2024-01-01T10:00:00-12:00", "2024-02-29",
                                   "2024-01-01T23:59:59Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_dates_and_offsets_in_use_are_answered(partner_a, account, value):
    for url, field in lists(account).values():
        response = partner_a.get(url, {"query": f"{field}>{value}"})
        assert response.status_code == 200, (url, response.content)


# --- 6. Long ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_a_path_account_id_over_255_characters_is_a_400_that_writes_nothing(partner_a, account, method):
    before = rows()
    long_id = "a" * 256
    url = push_path(account, long_id) if method == "post" else \
        f"{base(account)}/connectionInfo/bankFeedAccounts/{long_id}"
    response = getattr(partner_a, method)(url, {"accountId": long_id, "transactions": [transaction()]},
                                          format="json")
    body = refused_with_nothing_written(response, before)
    assert body["error"] == "accountId may be at most 255 characters long."


def test_other_path_ids_over_255_characters_are_a_400(partner_a, account):
    company = account.connection.company_id
    for url in (f"/api/companies/{'c' * 256}", f"/api/companies/{company}/connections/{'c' * 300}",
                f"/api/companies/{company}/push/{'k' * 1000}"):
        assert partner_a.get(url).status_code == 400


def test_a_path_account_id_of_255_characters_is_looked_up(partner_a, account):
    response = partner_a.post(push_path(account, "a" * 255), {"accountId": "a" * 255,
                                                              "transactions": [transaction()]}, format="json")
    assert response.status_code == 400
    assert response.json()["validation"]["errors"][0]["validatorName"] == "SourceAccount"  # not on this connection


@pytest.mark.parametrize("with_key", [False, True])
def test_a_transaction_id_over_255_characters_is_a_400_that_writes_no_operation(partner_a, account, with_key):
    body = {"accountId": "acc-1", "transactions": [transaction(), transaction(id="t" * 256, balance=97.5)]}
    headers = {"HTTP_IDEMPOTENCY_KEY": "long-id"} if with_key else {}
    response = partner_a.post(push_path(account), body, format="json", **headers)
    assert response.status_code == 400
    error = response.json()["validation"]["errors"][0]
    assert (error["itemId"], error["validatorName"]) == ("[1]", "IdLength")
    assert PushOperation.objects.count() == 0 and BankTransaction.objects.count() == 0
    # Like every validation failure, it is the answer kept for its key.
    assert IdempotencyRecord.objects.count() == (1 if with_key else 0)


# --- 8. Numbers bounded before any arithmetic --------------------------------------------------


@pytest.mark.parametrize("value", ["1e999999", "-1e999999", "1e9999999", "-9.99e29732192", "1e99999999999999999999",
                                   "-1e-99999999999999999999",
                                   "9" * 3000, "1e15", "1_000", "\u0661", "5.", ".5", "0x10", "NaN", "Infinity"])
def test_a_number_in_a_query_is_refused_unless_it_is_a_plain_number_below_10_to_the_15(partner_a, account, value):
    response = partner_a.get(f"/api/companies/{account.connection.company_id}/push",
                             {"query": f"statusCode>{value}"})
    assert response.status_code == 400, response.content


def test_a_plain_number_in_a_query_is_compared(partner_a, account):
    PushOperation.objects.create(company=account.connection.company, connection=account.connection,
                                 account_id="acc-1", status="Failed", status_code=400)
    url = f"/api/companies/{account.connection.company_id}/push"
    assert partner_a.get(url, {"query": "statusCode>399"}).json()["totalResults"] == 1
    assert partner_a.get(url, {"query": "statusCode>4e2"}).json()["totalResults"] == 0
    assert partner_a.get(url, {"query": "statusCode > 1e-999999"}).json()["totalResults"] == 1


# --- 16. Numbers as strict as the spec ---------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e9999999", "-9.99e29732192", '"1_000"', '"\u0661"', '" 5"', '"5 "', '"5."',
                                    '".5"', '"+5"', '"0x10"', '"5\\n"',
                                    "1e99999999999999999999", "1" * 5000, "true", '"NaN"'])
def test_an_amount_must_be_a_number_as_json_writes_one(partner_a, account, amount):
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    text = ('{"accountId": "acc-1", "transactions": [{"id": "t1", "date": "' + day + '", "amount": ' + amount
            + ', "balance": 1}]}')
    response = raw_post(partner_a, push_path(account), text)
    assert response.status_code == 400, response.content
    assert not BankTransaction.objects.exists()


def test_numeric_strings_in_json_notation_are_still_amounts(partner_a, account):
    response = partner_a.post(f"{base(account)}/connectionInfo/bankFeedAccounts", {
        "id": "acc-2", "accountName": "Savings", "accountType": "savings", "accountNumber": "2",
        "sortCode": "40-00-00", "currency": "GBP", "balance": "-12.5e1"}, format="json")
    assert response.status_code == 200, response.content
    assert SourceAccount.objects.get(account_id="acc-2").balance == -125


@pytest.mark.parametrize("value", ["\u0661", "1_0", " 5", "5\n", "+5", "0x10", "9" * 5000])
def test_timeout_in_minutes_takes_ascii_digits_only(partner_a, account, value):
    response = partner_a.post(f"{push_path(account)}?{urlencode({'timeoutInMinutes': value})}",
                              {"accountId": "acc-1", "transactions": [transaction()]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["validation"]["errors"][0]["itemId"] == "timeoutInMinutes"
    assert not PushOperation.objects.exists()


@pytest.mark.parametrize("value", ["\u0661", "1_0", " 5", "+5", "9" * 5000, "9999999999"])
@pytest.mark.parametrize("name", ["page", "pageSize"])
def test_paging_takes_ascii_digits_only(partner_a, name, value):
    response = partner_a.get("/api/companies", {name: value})
    assert response.status_code == 400, response.content
    assert response.json()["validation"]["errors"][0]["itemId"] == name


@pytest.mark.parametrize("currency", [{}, [], ["GBP"], 826, None, "gbp", "GBP "])
def test_a_currency_that_is_not_an_iso_code_is_a_400(partner_a, account, currency):
    before = rows()
    body = {"id": "acc-2", "accountName": "Savings", "accountType": "savings", "accountNumber": "2",
            "sortCode": "40-00-00", "currency": currency, "balance": 1}
    response = partner_a.post(f"{base(account)}/connectionInfo/bankFeedAccounts", body, format="json")
    answer = refused_with_nothing_written(response, before)
    assert "currency" in [e["itemId"] for e in answer["validation"]["errors"]]
