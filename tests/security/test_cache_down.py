"""Redis (the shared cache: push locks, Xero rate limits, sign-in limits) unreachable: the
partner API answers 503 with canBeRetried and writes nothing, the portal and sign-in
answer a page asking to retry, /readyz says which dependency is down. Issue #13, point 7."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from apps.api.models import IdempotencyRecord
from apps.feeds.models import BankTransaction, FeedConnection, PushOperation, SourceAccount
from apps.tenants.models import CompanyMembership
from tests.feeds.push_support import batch, push_url

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every connection is refused at once.
DEAD_REDIS = {"default": {"BACKEND": "apps.core.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.fixture
def cache_down(settings):
    """Swap the cache for one that cannot be reached; returns a function that brings it back."""
    reachable = settings.CACHES
    settings.CACHES = DEAD_REDIS

    def back():
        settings.CACHES = reachable

    return back


def rows():
    return (PushOperation.objects.count(), BankTransaction.objects.count(), FeedConnection.objects.count(),
            IdempotencyRecord.objects.count())


def unavailable(response):
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["statusCode"] == 503 and body["canBeRetried"] == "True", body
    assert int(response["Retry-After"]) > 0
    return body


def test_a_push_while_the_cache_is_down_is_a_503_that_writes_nothing_and_is_not_kept(
        partner_a, connected_account, cache_down):
    before = rows()
    body = {"accountId": "acc-1", "transactions": batch(3)}
    unavailable(partner_a.post(push_url(connected_account), body, format="json", HTTP_IDEMPOTENCY_KEY="push-1"))
    assert rows() == before
    cache_down()  # back up: the same request under the same key now goes through
    response = partner_a.post(push_url(connected_account), body, format="json", HTTP_IDEMPOTENCY_KEY="push-1")
    assert response.status_code == 200, response.content
    assert "Idempotent-Replayed" not in response


def test_mapping_and_company_information_while_the_cache_is_down_are_503(partner_a, linked_connection, cache_down):
    SourceAccount.objects.create(connection=linked_connection, account_id="acc-9", account_name="Savings",
                                 account_type="savings", currency="GBP", account_number="9", sort_code="40-00-00")
    base = f"/api/companies/{linked_connection.company_id}/connections/{linked_connection.pk}"
    before = rows()
    unavailable(partner_a.post(f"{base}/bankFeedAccounts/mapping", {"sourceAccountId": "acc-9"}, format="json"))
    unavailable(partner_a.get(f"{base}/bankFeedAccounts/mapping"))
    unavailable(partner_a.get(f"{base}/bankFeeds/info"))
    assert rows() == before
    assert SourceAccount.objects.get(account_id="acc-9").status == "pending"


def test_signing_in_while_the_cache_is_down_is_a_page_asking_to_retry(cache_down):
    get_user_model().objects.create_user(username="smb@example.com", email="smb@example.com", password="pw-123456!")
    response = Client().post(reverse("account_login"), {"login": "smb@example.com", "password": "pw-123456!"})
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "briefly unavailable" in response.content.decode()


def test_a_portal_step_that_needs_xero_while_the_cache_is_down_tells_the_visitor(linked_connection, cache_down):
    SourceAccount.objects.create(connection=linked_connection, account_id="acc-9", account_name="Savings",
                                 account_type="savings", currency="GBP", account_number="9", sort_code="40-00-00")
    user = get_user_model().objects.create_user(username="u@example.com", email="u@example.com")
    CompanyMembership.objects.create(user=user, company=linked_connection.company)
    browser = Client()
    browser.force_login(user)
    response = browser.get(reverse("portal:mapping", args=[linked_connection.company_id]), follow=True)
    assert response.status_code == 200
    assert "This service is briefly unavailable" in response.content.decode()


def test_readyz_names_the_dependency_that_is_down_and_healthz_stays_cheap(client, cache_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unreachable"}
    assert client.get("/healthz").status_code == 200  # liveness: the database answers
    cache_down()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
