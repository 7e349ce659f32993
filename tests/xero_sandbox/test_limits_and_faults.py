import os
import subprocess
import sys

import pytest
import requests
from django.db import connection

from apps.xero_sandbox.faults import add_fault
from apps.xero_sandbox.models import Fault, Statement
from tests.processes import database_url

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


def _limited(settings, **limits):
    settings.XERO_SANDBOX_LIMITS = {**settings.XERO_SANDBOX_LIMITS, **limits}


def test_a_limit_refuses_exactly_past_it_and_refused_calls_do_not_count(cache_kind, sandbox, access, settings):
    _limited(settings, tenant_per_minute=2)
    assert [sandbox.api("GET", FC, token=access).headers["X-MinLimit-Remaining"] for _ in range(2)] == ["1", "0"]
    for _ in range(3):
        refused = sandbox.api("GET", FC, token=access, contract=False)
        assert refused.status_code == 429
        assert refused.headers["X-Rate-Limit-Problem"] == "minute"
        assert "X-MinLimit-Remaining" not in refused.headers
    _limited(settings, tenant_per_minute=3)
    # Three refusals did not count: one more call fits.
    allowed = sandbox.api("GET", FC, token=access)
    assert allowed.headers["X-MinLimit-Remaining"] == "0"
    assert sandbox.api("GET", FC, token=access, contract=False).status_code == 429


def test_a_refusal_by_a_later_limit_takes_back_the_earlier_counts(cache_kind, sandbox, access, settings):
    _limited(settings, tenant_per_day=1)
    first = sandbox.api("GET", FC, token=access)
    assert (first.headers["X-MinLimit-Remaining"], first.headers["X-DayLimit-Remaining"]) == ("59", "0")
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    _limited(settings, tenant_per_day=5000)
    after = sandbox.api("GET", FC, token=access)
    assert (after.headers["X-MinLimit-Remaining"], after.headers["X-DayLimit-Remaining"]) == ("58", "4998")


def test_concurrency_is_released_when_each_call_ends(cache_kind, sandbox, access, settings):
    _limited(settings, tenant_concurrent=1)
    assert [sandbox.api("GET", FC, token=access).status_code for _ in range(4)] == [200] * 4


def test_the_statements_limit_is_per_app_and_separate_from_other_calls(cache_kind, sandbox, access, settings):
    _limited(settings, app_statements_per_minute=1)
    assert sandbox.api("GET", ST, token=access).headers["X-AppMinLimit-Remaining"] == "0"
    assert sandbox.api("GET", ST, token=access, contract=False).headers["X-Rate-Limit-Problem"] == "appminute"
    assert sandbox.api("GET", FC, token=access).status_code == 200


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


def test_a_fault_added_by_another_process_spoils_the_very_next_call(sandbox, access, settings):
    if connection.vendor != "postgresql":
        pytest.skip("another process needs a database server")
    assert sandbox.api("GET", FC, token=access).status_code == 200
    code = (
        "import django; django.setup(); from apps.xero_sandbox.faults import add_fault; "
        "add_fault('bankfeeds.xro/1.0/FeedConnections', status=503)"
    )
    env = {**os.environ, "DATABASE_URL": database_url(), "XERO_SANDBOX": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, check=True)
    assert sandbox.api("GET", FC, token=access, contract=False).status_code == 503
    assert sandbox.api("GET", FC, token=access).status_code == 200


def test_a_fault_for_another_call_neither_spoils_nor_is_used_up(sandbox, access):
    add_fault(FC, method="POST")
    assert sandbox.api("GET", FC, token=access).status_code == 200
    assert Fault.objects.get().remaining == 1


def test_a_fault_comes_before_the_token_check(sandbox):
    add_fault(FC)
    assert sandbox.api("GET", FC, token="nope", contract=False).status_code == 500
    assert sandbox.api("GET", FC, token="nope", contract=False).status_code == 401
