import datetime
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.xero_sandbox.models import Statement, StatementLine

pytestmark = pytest.mark.django_db

ST = "bankfeeds.xro/1.0/Statements"
TODAY = datetime.date.today()


def statement(feed, *, lines=None, start=None, end=None, start_balance="100.00", end_balance="150.00"):
    start = start or TODAY - datetime.timedelta(days=3)
    end = end or TODAY
    if lines is None:
        lines = [line(start, "50.00", "CREDIT", "t-1")]
    return {
        "feedConnectionId": feed,
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "startBalance": {"amount": start_balance, "creditDebitIndicator": "CREDIT"},
        "endBalance": {"amount": end_balance, "creditDebitIndicator": "CREDIT"},
        "statementLines": lines,
    }


def line(date, amount, indicator, txn, **extra):
    return {
        "postedDate": date.isoformat(),
        "description": "A line",
        "amount": amount,
        "creditDebitIndicator": indicator,
        "transactionId": txn,
        **extra,
    }


def post(sandbox, access, *statements, headers=None):
    return sandbox.api("POST", ST, token=access, json={"items": list(statements)}, headers=headers)


def problem_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()["type"]


def test_it_delivers_a_statement_and_reads_it_back(sandbox, access, feed):
    response = post(sandbox, access, statement(feed))
    assert response.status_code == 202
    [answer] = response.json()["items"]
    assert answer["status"] == "PENDING"
    one = sandbox.api("GET", f"{ST}/{answer['id']}", token=access)
    assert one.status_code == 200
    assert one.json()["status"] == "DELIVERED"
    assert one.json()["statementLines"][0]["transactionId"] == "t-1"
    listing = sandbox.api("GET", ST, token=access, params={"page": 1, "pageSize": 5})
    assert listing.status_code == 200
    assert listing.json()["pagination"]["itemCount"] == 1


def test_debits_subtract_from_the_balance(sandbox, access, feed):
    lines = [line(TODAY, "30", "CREDIT", "a"), line(TODAY, "10.5", "DEBIT", "b")]
    response = post(sandbox, access, statement(feed, lines=lines, start_balance="0", end_balance="19.5"))
    assert response.status_code == 202


def test_a_wrong_end_balance_is_422(sandbox, access, feed):
    assert problem_of(post(sandbox, access, statement(feed, end_balance="151")), 422) == "invalid-end-balance"


def test_a_start_date_older_than_a_year_is_rejected(sandbox, access, feed):
    start = TODAY - datetime.timedelta(days=367)
    body = statement(feed, start=start, lines=[line(start, "50", "CREDIT", "x")])
    assert problem_of(post(sandbox, access, body), 422) == "invalid-start-date"


def test_an_end_date_in_the_future_is_rejected(sandbox, access, feed):
    body = statement(feed, end=TODAY + datetime.timedelta(days=2))
    assert problem_of(post(sandbox, access, body), 422) == "invalid-end-date"


def test_start_after_end_is_rejected(sandbox, access, feed):
    body = statement(feed, start=TODAY, end=TODAY - datetime.timedelta(days=1), lines=[])
    body["endBalance"]["amount"] = "100.00"
    assert problem_of(post(sandbox, access, body), 422) == "invalid-start-and-end-date"


def test_more_than_1000_lines_is_rejected(sandbox, access, feed):
    lines = [line(TODAY, "1", "CREDIT", f"t{i}") for i in range(1001)]
    body = statement(feed, lines=lines, start_balance="0", end_balance="1001")
    assert problem_of(post(sandbox, access, body), 400) == "invalid-request"


def test_a_line_outside_the_dates_is_rejected(sandbox, access, feed):
    body = statement(feed, lines=[line(TODAY - datetime.timedelta(days=10), "50", "CREDIT", "t")])
    assert problem_of(post(sandbox, access, body), 400) == "invalid-request"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "d" * 2001),
        ("payeeName", "p" * 256),
        ("reference", "r" * 256),
        ("chequeNumber", "1" * 21),
        ("transactionType", "t" * 31),
    ],
)
def test_line_field_limits_are_enforced(sandbox, access, feed, field, value):
    body = statement(feed, lines=[line(TODAY, "50", "CREDIT", "t", **{field: value})])
    assert problem_of(post(sandbox, access, body), 400) == "invalid-request"


def test_an_unknown_feed_connection_is_403(sandbox, access, feed):
    body = statement("00000000-0000-0000-0000-000000000009")
    assert problem_of(post(sandbox, access, body), 403) == "invalid-feed-connection"


def test_the_same_statement_twice_is_a_duplicate(sandbox, access, feed):
    assert post(sandbox, access, statement(feed)).status_code == 202
    again = post(sandbox, access, statement(feed))
    assert again.status_code == 409
    [item] = again.json()["items"]
    assert item["status"] == "REJECTED"
    assert item["errors"][0]["type"] == "duplicate-statement"
    assert StatementLine.objects.count() == 1


def test_a_known_transaction_id_makes_a_duplicate(sandbox, access, feed):
    assert post(sandbox, access, statement(feed)).status_code == 202
    other = statement(feed, lines=[line(TODAY, "10", "CREDIT", "t-1")], end_balance="110")
    assert post(sandbox, access, other).status_code == 409


def test_an_oversized_body_is_413(sandbox, access, feed):
    body = statement(feed, lines=[line(TODAY, "1", "CREDIT", "t", description="d" * 2000)])
    body["padding"] = "x" * 3_000_001
    response = post(sandbox, access, body)
    assert response.status_code == 413


def test_an_idempotent_statement_post_replays(sandbox, access, feed):
    headers = {"Idempotency-Key": "st-1"}
    first = post(sandbox, access, statement(feed), headers=headers)
    second = post(sandbox, access, statement(feed), headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert Statement.objects.count() == 1


def test_a_transaction_id_repeated_within_one_request_makes_the_later_statement_a_duplicate(sandbox, access, feed):
    first = statement(feed)
    later = statement(feed, lines=[line(TODAY, "10", "CREDIT", "t-1")], end_balance="110")
    response = post(sandbox, access, first, later)
    assert response.status_code == 409
    assert [item["status"] for item in response.json()["items"]] == ["PENDING", "REJECTED"]
    assert list(Statement.objects.order_by("status").values_list("status", flat=True)) == ["DELIVERED", "REJECTED"]


@pytest.mark.parametrize(
    ("today", "earliest"),
    [
        (datetime.date(2025, 6, 30), datetime.date(2024, 6, 30)),
        (datetime.date(2024, 2, 29), datetime.date(2023, 2, 28)),
    ],
)
def test_the_earliest_start_date_is_a_year_before_today(today, earliest):
    from apps.xero_sandbox.statement_rules import earliest_start_date

    assert earliest_start_date(today) == earliest


def test_1000_lines_are_stored_fast_in_few_queries(sandbox, access, feed):
    lines = [line(TODAY, "1.25", "CREDIT", f"bulk-{i}", payeeName="Payee") for i in range(1000)]
    body = statement(feed, lines=lines, start_balance="0", end_balance="1250")
    response = post(sandbox, access, body)
    assert response.status_code == 202
    assert StatementLine.objects.filter(transaction_id__startswith="bulk-").count() == 1000

    # Post the next 1000 lines through Django's test client: the same URL, gateway and
    # view as over the socket, but in this thread, so its queries can be counted.
    body2 = statement(
        feed,
        lines=[{**ln, "transactionId": "b2" + ln["transactionId"]} for ln in lines],
        start_balance="0",
        end_balance="1250",
    )
    client = Client(headers={"Authorization": f"Bearer {access}", "Xero-Tenant-Id": sandbox.tenant()})
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        answer = client.post(f"/xero-sandbox/{ST}", {"items": [body2]}, content_type="application/json")
        elapsed = time.perf_counter() - started
    assert answer.status_code == 202
    # SQLite splits bulk inserts by its bound-parameter limit; PostgreSQL needs one.
    assert len(queries) <= (10 if connection.vendor == "postgresql" else 25)
    assert elapsed < 0.5  # ~50-150 ms here; generous for a busy CI box
