"""Token refresh: inline before a Xero call when the access token is about to expire
(exactly once for concurrent callers), the beat task's choice of connections, and a
connection Xero no longer accepts ending Deauthorized and visible to the partner."""

import threading
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.db import connection as db
from django.utils import timezone

from apps.xero_auth import client, connections, refusals, tokens
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.factories import CompanyFactory
from tests.xero_helpers import AU, UK, link, portal_app, sandbox_grant
from tests.xero_helpers import grant as grant_of

from .conftest import connections_url

pytestmark = pytest.mark.django_db(transaction=True)


def expire_in(connection, delta, *, issued_ago=timedelta(0)):
    XeroConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() + delta, refresh_token_issued_at=timezone.now() - issued_ago)
    return XeroConnection.objects.get(pk=connection.pk)


def fault(base, **body):
    response = requests.post(f"{base}/xero-sandbox/_faults", json=body, timeout=10)
    assert response.status_code == 201, response.text


def test_a_token_expiring_within_two_minutes_is_refreshed_before_the_call(linked_connection):
    connection = expire_in(linked_connection, timedelta(seconds=90))
    refreshes = portal_app()["refreshCount"]

    token = tokens.access_token_for(connection)

    assert token != linked_connection.access_token
    assert portal_app()["refreshCount"] == refreshes + 1
    stored = XeroConnection.objects.get(pk=connection.pk)
    assert stored.access_token == token
    assert stored.access_token_expires_at > timezone.now() + timedelta(minutes=29)


def test_a_token_with_more_than_two_minutes_left_is_used_as_it_is(linked_connection):
    connection = expire_in(linked_connection, timedelta(minutes=3))
    refreshes = portal_app()["refreshCount"]

    assert tokens.access_token_for(connection) == linked_connection.access_token
    assert portal_app()["refreshCount"] == refreshes


def test_ten_callers_needing_a_token_at_once_cause_exactly_one_refresh(linked_connection):
    expire_in(linked_connection, timedelta(minutes=1))
    refreshes = portal_app()["refreshCount"]
    start = threading.Barrier(10)
    issued, errors = [], []

    def caller():
        try:
            mine = XeroConnection.objects.get(pk=linked_connection.pk)
            assert mine.access_token_expiring()
            start.wait(timeout=10)
            issued.append(tokens.access_token_for(mine))
        except Exception as exc:  # reported below: an assert in a thread would be lost
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=caller) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert portal_app()["refreshCount"] == refreshes + 1
    stored = XeroConnection.objects.get(pk=linked_connection.pk)
    assert issued == [stored.access_token] * 10
    assert stored.access_token != linked_connection.access_token
    # The rotated refresh token is the one kept: the next refresh works.
    assert tokens.token_refresh(connection_id=stored.pk, force=True).status == ConnectionStatus.LINKED


def test_a_refresh_token_past_its_grace_deauthorizes_the_connection_and_the_partner_sees_why(
        linked_connection, codat_sdk, live_server):
    # We used this refresh token over 30 minutes ago and never stored its successor: Xero's
    # grace is over, so it answers invalid_grant (the sandbox's own tests cover the grace).
    fault(live_server.url, operation="connect/token", mode="invalid_grant")
    connection = expire_in(linked_connection, timedelta(minutes=1))

    with pytest.raises(refusals.ConnectionNotLinked, match="Deauthorized"):
        tokens.access_token_for(connection)

    got = codat_sdk.connections.get(request={"company_id": str(connection.company_id),
                                             "connection_id": str(connection.id)})
    assert got.status == "Deauthorized"
    [error] = got.data_connection_errors
    assert (error.status_code, error.status_text, error.status) == ("400", "invalid_grant", "Active")
    assert "reconnect" in error.error_message
    assert error.errored_on_utc and error.resolved_on_utc is None
    stored = XeroConnection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == ("", "")


def test_a_deauthorized_connection_makes_no_more_calls_to_xero(linked_connection, partner_a, live_server):
    fault(live_server.url, operation="connect/token", mode="invalid_grant")
    with pytest.raises(refusals.ConnectionNotLinked):
        tokens.token_refresh(connection_id=linked_connection.pk, force=True)
    refreshes = portal_app()["refreshCount"]

    info = partner_a.get(connections_url(linked_connection.company_id, linked_connection.id, "/bankFeeds/info"))

    assert info.status_code == 400
    assert "Deauthorized" in info.json()["error"]
    assert tokens.refresh_expiring_tokens() == 0
    with pytest.raises(refusals.ConnectionNotLinked):
        tokens.access_token_for(XeroConnection.objects.get(pk=linked_connection.pk))
    assert portal_app()["refreshCount"] == refreshes
    assert requests.get(f"{live_server.url}/xero-sandbox/_faults", timeout=10).json()["faults"] == []


def test_reconnecting_a_deauthorized_connection_resolves_its_error(linked_connection, live_server):
    fault(live_server.url, operation="connect/token", mode="invalid_grant")
    with pytest.raises(refusals.ConnectionNotLinked):
        tokens.token_refresh(connection_id=linked_connection.pk, force=True)

    relinked = link(XeroConnection.objects.get(pk=linked_connection.pk))

    assert relinked.status == ConnectionStatus.LINKED
    [error] = relinked.data_connection_errors
    assert error["status"] == "Resolved" and error["resolvedOnUtc"]


def test_xero_being_down_during_a_refresh_leaves_the_connection_linked(linked_connection, live_server):
    fault(live_server.url, operation="connect/token", status=503)

    with pytest.raises(client.XeroUnavailable):
        tokens.token_refresh(connection_id=linked_connection.pk, force=True)

    stored = XeroConnection.objects.get(pk=linked_connection.pk)
    assert stored.status == ConnectionStatus.LINKED
    assert stored.refresh_token == linked_connection.refresh_token
    assert tokens.token_refresh(connection_id=stored.pk, force=True).access_token != stored.access_token


def test_an_access_token_xero_rejects_gets_one_refresh_and_the_call_succeeds(linked_connection, live_server):
    fault(live_server.url, operation="api.xro/2.0/Organisation", status=401)
    refreshes = portal_app()["refreshCount"]

    info = connections.company_information(connection=linked_connection)

    assert info.company_name == "Demo Company (UK)"
    assert portal_app()["refreshCount"] == refreshes + 1


def test_the_beat_task_refreshes_tokens_expiring_within_ten_minutes_or_idle_for_fifty_days(
        linked_connection, partner_a, partner_b):
    def another(partner, tenant):
        return link(connections.connection_create(company=CompanyFactory(partner=partner.partner)), tenant=tenant)

    expiring = expire_in(linked_connection, timedelta(minutes=9))
    idle = expire_in(another(partner_a, AU), timedelta(minutes=25), issued_ago=timedelta(days=51))
    fresh = expire_in(another(partner_b, UK), timedelta(minutes=11), issued_ago=timedelta(days=49))
    unlinked = another(partner_b, AU)
    connections.connection_unlink(connection=expire_in(unlinked, timedelta(minutes=1)))
    grants = {c.pk: sandbox_grant(c) for c in (expiring, idle, fresh)}

    assert tokens.refresh_expiring_tokens() == 2

    counts = {pk: grant_of(g["id"])["refreshCount"] for pk, g in grants.items()}
    assert counts == {expiring.pk: 1, idle.pk: 1, fresh.pk: 0}
    assert XeroConnection.objects.get(pk=idle.pk).refresh_token_issued_at > timezone.now() - timedelta(minutes=1)
    assert XeroConnection.objects.get(pk=unlinked.pk).status == ConnectionStatus.UNLINKED


def test_the_beat_task_runs_every_five_minutes():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-xero-tokens"]
    assert entry["task"] == "apps.xero_auth.tasks.refresh_expiring_tokens"
    assert entry["schedule"].minute == set(range(0, 60, 5))
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_the_beat_task_does_not_refresh_again_what_was_refreshed_inline_meanwhile(linked_connection):
    # The task's selection saw an expiring token; by the time it holds the lock an inline
    # refresh has already run, so it must leave the fresh token alone.
    expire_in(linked_connection, timedelta(minutes=30))
    refreshes = portal_app()["refreshCount"]
    tokens.token_refresh(connection_id=linked_connection.pk, margin=tokens.BEAT_ACCESS_MARGIN,
                           idle_before=timezone.now() - tokens.REFRESH_TOKEN_MAX_IDLE)
    assert portal_app()["refreshCount"] == refreshes
    expire_in(linked_connection, timedelta(minutes=30), issued_ago=timedelta(days=51))
    tokens.token_refresh(connection_id=linked_connection.pk, margin=tokens.BEAT_ACCESS_MARGIN,
                           idle_before=timezone.now() - tokens.REFRESH_TOKEN_MAX_IDLE)
    assert portal_app()["refreshCount"] == refreshes + 1
