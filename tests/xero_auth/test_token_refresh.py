"""Token refresh: inline before a Xero call when the access token is about to expire
(exactly once for concurrent callers), the beat's upkeep passes (only refresh tokens idle
for 50 days, in batches, never overlapping), and a connection Xero no longer accepts
ending Deauthorized and visible to the partner."""

import threading
import time
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
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
    XeroConnection.objects.filter(pk=linked_connection.pk).update(
        refresh_token_issued_at=timezone.now() - timedelta(days=51))
    assert tokens.connections_needing_upkeep() == []
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


def run_pass(**kwargs):
    """One upkeep pass with its batches run here, as workers would run them."""
    batches = []
    handed_out = tokens.upkeep_pass(dispatch=lambda ids, deadline: batches.append((ids, deadline)), **kwargs)
    refreshed = sum(tokens.tokens_keep_alive(connection_ids=ids, deadline=deadline) for ids, deadline in batches)
    return handed_out, [ids for ids, _ in batches], refreshed


def another(partner, tenant):
    return link(connections.connection_create(company=CompanyFactory(partner=partner.partner)), tenant=tenant)


def test_an_upkeep_pass_refreshes_only_refresh_tokens_idle_for_fifty_days(linked_connection, partner_a, partner_b):
    # Access tokens about to expire, or long expired, are left to the call that needs one.
    expiring = expire_in(linked_connection, timedelta(minutes=5))
    idle = expire_in(another(partner_a, AU), -timedelta(days=51), issued_ago=timedelta(days=51))
    nearly_idle = expire_in(another(partner_b, UK), -timedelta(days=49), issued_ago=timedelta(days=49))
    unlinked = another(partner_b, AU)
    connections.connection_unlink(connection=expire_in(unlinked, timedelta(minutes=1)))
    XeroConnection.objects.filter(pk=unlinked.pk).update(refresh_token_issued_at=timezone.now() - timedelta(days=70))
    grants = {c.pk: sandbox_grant(c) for c in (expiring, idle, nearly_idle)}

    assert tokens.connections_needing_upkeep() == [idle.pk]
    assert run_pass() == (1, [[str(idle.pk)]], 1)

    counts = {pk: grant_of(g["id"])["refreshCount"] for pk, g in grants.items()}
    assert counts == {expiring.pk: 0, idle.pk: 1, nearly_idle.pk: 0}
    assert XeroConnection.objects.get(pk=idle.pk).refresh_token_issued_at > timezone.now() - timedelta(minutes=1)
    assert XeroConnection.objects.get(pk=unlinked.pk).status == ConnectionStatus.UNLINKED
    assert tokens.connections_needing_upkeep() == []


def test_a_pass_hands_out_the_longest_idle_first_in_batches(linked_connection, partner_a, partner_b, monkeypatch):
    monkeypatch.setattr(tokens, "UPKEEP_BATCH", 2)
    oldest = expire_in(another(partner_a, AU), -timedelta(days=1), issued_ago=timedelta(days=58))
    middle = expire_in(linked_connection, -timedelta(days=1), issued_ago=timedelta(days=55))
    newest = expire_in(another(partner_b, UK), -timedelta(days=1), issued_ago=timedelta(days=52))

    handed_out, batches, refreshed = run_pass()

    assert (handed_out, refreshed) == (3, 3)
    assert batches == [[str(oldest.pk), str(middle.pk)], [str(newest.pk)]]
    assert tokens.connections_needing_upkeep(limit=10) == []


def test_a_pass_started_within_the_previous_pass_deadline_does_nothing(linked_connection):
    expire_in(linked_connection, -timedelta(days=1), issued_ago=timedelta(days=51))
    assert run_pass()[0] == 1
    expire_in(linked_connection, -timedelta(days=1), issued_ago=timedelta(days=51))
    refreshes = portal_app()["refreshCount"]

    assert run_pass() == (0, [], 0)
    assert portal_app()["refreshCount"] == refreshes

    cache.delete(tokens.UPKEEP_LOCK)  # what the lock's deadline does in four minutes
    assert run_pass() == (1, [[str(linked_connection.pk)]], 1)


def test_a_batch_reached_after_the_pass_deadline_is_left_for_the_next_pass(linked_connection):
    expire_in(linked_connection, -timedelta(days=1), issued_ago=timedelta(days=51))
    refreshes = portal_app()["refreshCount"]

    assert tokens.tokens_keep_alive(connection_ids=[str(linked_connection.pk)], deadline=time.time() - 1) == 0

    assert portal_app()["refreshCount"] == refreshes
    assert tokens.connections_needing_upkeep() == [linked_connection.pk]


def test_the_upkeep_pass_runs_every_five_minutes():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["xero-token-upkeep"]
    assert entry["task"] == "apps.xero_auth.tasks.token_upkeep"
    assert entry["schedule"].minute == set(range(0, 60, 5))
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert "apps.xero_auth.tasks.token_upkeep_batch" in app.tasks


def test_the_upkeep_does_not_refresh_again_what_was_refreshed_inline_meanwhile(linked_connection):
    # The pass selected an idle refresh token; by the time its batch holds the row lock an
    # inline refresh has already used it, so the batch must leave the fresh tokens alone.
    expire_in(linked_connection, timedelta(minutes=30))
    refreshes = portal_app()["refreshCount"]
    deadline = time.time() + 60
    assert tokens.tokens_keep_alive(connection_ids=[linked_connection.pk], deadline=deadline) == 0
    assert portal_app()["refreshCount"] == refreshes
    expire_in(linked_connection, timedelta(minutes=30), issued_ago=timedelta(days=51))
    assert tokens.tokens_keep_alive(connection_ids=[linked_connection.pk], deadline=deadline) == 1
    assert portal_app()["refreshCount"] == refreshes + 1
