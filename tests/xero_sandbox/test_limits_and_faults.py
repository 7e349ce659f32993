import pytest
import requests

from apps.xero_sandbox.faults import add_fault
from apps.xero_sandbox.models import Statement

from .test_statements import ST, statement

pytestmark = pytest.mark.django_db

FC = "bankfeeds.xro/1.0/FeedConnections"


def test_every_api_answer_carries_limit_headers(sandbox, access):
    response = sandbox.api("GET", FC, token=access)
    assert response.headers["X-MinLimit-Remaining"] == "59"
    assert response.headers["X-DayLimit-Remaining"] == "4999"
    assert "X-AppMinLimit-Remaining" in response.headers


def test_the_minute_limit_answers_429(sandbox, access, settings):
    settings.XERO_SANDBOX_LIMITS = {**settings.XERO_SANDBOX_LIMITS, "tenant_per_minute": 2}
    assert sandbox.api("GET", FC, token=access).status_code == 200
    assert sandbox.api("GET", FC, token=access).status_code == 200
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert int(refused.headers["Retry-After"]) >= 1


def test_the_day_limit_answers_429(sandbox, access, settings):
    settings.XERO_SANDBOX_LIMITS = {**settings.XERO_SANDBOX_LIMITS, "tenant_per_day": 1}
    assert sandbox.api("GET", FC, token=access).status_code == 200
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.headers["X-Rate-Limit-Problem"] == "day"


def test_the_app_statements_limit_answers_429(sandbox, access, settings):
    settings.XERO_SANDBOX_LIMITS = {**settings.XERO_SANDBOX_LIMITS, "app_statements_per_minute": 1}
    assert sandbox.api("GET", ST, token=access).status_code == 200
    refused = sandbox.api("GET", ST, token=access, contract=False)
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"


def test_the_concurrency_limit_answers_429(sandbox, access, settings):
    settings.XERO_SANDBOX_LIMITS = {**settings.XERO_SANDBOX_LIMITS, "tenant_concurrent": 0}
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"


def test_a_status_fault_fails_the_next_calls_over_http(sandbox, access):
    created = requests.post(
        f"{sandbox.url}/_faults",
        json={"operation": "bankfeeds.xro/1.0/FeedConnections", "method": "GET", "status": 500, "count": 2},
    )
    assert created.status_code == 201
    assert len(requests.get(f"{sandbox.url}/_faults").json()["faults"]) == 1
    for _ in range(2):
        failed = sandbox.api("GET", FC, token=access, contract=False)
        assert failed.status_code == 500
        assert failed.json()["type"] == "internal-error"
    assert sandbox.api("GET", FC, token=access).status_code == 200
    assert requests.delete(f"{sandbox.url}/_faults").status_code == 200


def test_a_429_fault_carries_retry_after(sandbox, access):
    add_fault("bankfeeds.xro", status=429, retry_after=7)
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"


def test_a_hang_fault_times_the_client_out_without_writing(sandbox, access, feed):
    add_fault(ST, method="POST", mode="hang", seconds=1.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sandbox.api("POST", ST, token=access, json={"items": [statement(feed)]}, timeout=0.5, contract=False)
    assert Statement.objects.count() == 0


def test_drop_after_commit_writes_and_drops_the_answer(sandbox, access, feed):
    add_fault(ST, method="POST", mode="drop_after_commit", seconds=3)
    with pytest.raises(requests.exceptions.ConnectionError):
        sandbox.api("POST", ST, token=access, json={"items": [statement(feed)]}, timeout=2, contract=False)
    assert Statement.objects.count() == 1
    # The retry is recognised as a duplicate.
    retry = sandbox.api("POST", ST, token=access, json={"items": [statement(feed)]})
    assert retry.status_code == 409


def test_an_invalid_grant_fault_fails_the_refresh(sandbox, tokens):
    add_fault("connect/token", mode="invalid_grant")
    refused = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refused.json() == {"error": "invalid_grant"}
    again = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200
