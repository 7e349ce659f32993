"""A Pending push settles without the partner reading it: when the operations are listed,
before the next push to its account, and by the relay's sweep; TimedOut once its
timeoutInMinutes passed; each with one call to Xero at most and one write event. And an
operation left Pending by a worker that died is finished by asking Xero."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.feeds import push as push_service
from apps.feeds.models import PushOperation, SourceAccount
from apps.webhooks.models import Event
from tests.feeds.push_support import add_fault, batch, push_url, read_operation
from tests.xero_helpers import delivered_lines, reject_statement, statements

pytestmark = pytest.mark.django_db(transaction=True)

GET_STATEMENT = {"operation": "bankfeeds.xro/1.0/Statements/", "method": "GET"}


def push(partner, account, transactions, query=""):
    response = partner.post(push_url(account) + query, {"accountId": account.account_id,
                                                        "transactions": transactions}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def status(key):
    return PushOperation.objects.get(pk=key).status


def faults_left(base):
    return [f["count"] for f in requests.get(f"{base}/xero-sandbox/_faults", timeout=10).json()["faults"]]


def write_events(key):
    return [e for e in Event.objects.filter(event_type__startswith="bankTransactions.write.")
            if key in e.body]


def test_listing_the_operations_settles_a_pending_push(partner_a, connected_account):
    key = push(partner_a, connected_account, batch(2))["pushOperationKey"]
    assert status(key) == "Pending"
    listed = partner_a.get(f"/api/companies/{connected_account.connection.company_id}/push").json()
    assert [o["status"] for o in listed["results"]] == ["Success"]
    assert len(write_events(key)) == 1


def test_listing_settles_each_pending_push_reading_their_connection_once(partner_a, connected_account):
    keys = [push(partner_a, connected_account, batch(2, first_id=1 + 2 * k,
                                                     opening=Decimal("1000.00") - Decimal("2.50") * k))
            ["pushOperationKey"] for k in range(3)]
    assert [status(k) for k in keys] == ["Pending"] * 3
    answered = timezone.now() - push_service.SETTLE_RECHECK - timedelta(seconds=1)
    PushOperation.objects.filter(pk__in=keys).update(requested_on=answered)
    with CaptureQueriesContext(connection) as queries:
        listed = partner_a.get(f"/api/companies/{connected_account.connection.company_id}/push").json()
    assert [o["status"] for o in listed["results"]] == ["Success"] * 3
    connection_reads = [q["sql"] for q in queries.captured_queries
                        if q["sql"].startswith("SELECT") and 'FROM "xero_auth_xeroconnection"' in q["sql"]]
    assert len(connection_reads) == 1, connection_reads


def test_the_next_push_to_the_account_settles_the_one_before(partner_a, connected_account):
    first = push(partner_a, connected_account, batch(2))["pushOperationKey"]
    answered = timezone.now() - push_service.SETTLE_RECHECK - timedelta(seconds=1)
    PushOperation.objects.filter(pk=first).update(requested_on=answered)
    push(partner_a, connected_account, batch(2, first_id=3, opening=Decimal("997.50")))
    assert status(first) == "Success"
    assert len(write_events(first)) == 1


def test_a_push_moments_after_the_one_before_does_not_ask_xero_about_it(partner_a, connected_account,
                                                                        xero_on_live_server):
    # Xero answered PENDING for the first an instant ago: asking again would only spend one
    # of the organisation's 60 calls a minute. The first settles on a read as always.
    first = push(partner_a, connected_account, batch(2))["pushOperationKey"]
    add_fault(xero_on_live_server, **GET_STATEMENT, status=503, count=1)
    second = push(partner_a, connected_account, batch(2, first_id=3, opening=Decimal("997.50")))
    assert second["status"] == "Pending"
    assert faults_left(xero_on_live_server) == [1]  # no question to Xero
    assert status(first) == "Pending"
    requests.delete(f"{xero_on_live_server}/xero-sandbox/_faults", timeout=10)
    assert read_operation(partner_a, connected_account, first)["status"] == "Success"


def test_the_next_push_asks_about_the_last_statement_only_and_leaves_older_ones_to_the_sweep(
        partner_a, connected_account, xero_on_live_server):
    keys = [push(partner_a, connected_account, batch(2, first_id=1 + 2 * k,
                                                     opening=Decimal("1000.00") - Decimal("2.50") * k))
            ["pushOperationKey"] for k in range(2)]
    answered = timezone.now() - push_service.SETTLE_RECHECK - timedelta(seconds=1)
    for seconds, key in zip((1, 0), keys, strict=True):
        PushOperation.objects.filter(pk=key).update(requested_on=answered - timedelta(seconds=seconds))
    add_fault(xero_on_live_server, **GET_STATEMENT, status=503, count=2)
    push(partner_a, connected_account, batch(2, first_id=5, opening=Decimal("995.00")))
    assert faults_left(xero_on_live_server) == [1]  # one question: about the second push
    requests.delete(f"{xero_on_live_server}/xero-sandbox/_faults", timeout=10)
    PushOperation.objects.filter(pk=keys[0]).update(requested_on=timezone.now() - timedelta(minutes=2))
    assert push_service.push_sweep() >= 1
    assert status(keys[0]) == "Success"


def test_the_next_push_asks_nothing_when_the_last_statement_has_settled(partner_a, connected_account,
                                                                        xero_on_live_server):
    keys = [push(partner_a, connected_account, batch(2, first_id=1 + 2 * k,
                                                     opening=Decimal("1000.00") - Decimal("2.50") * k))
            ["pushOperationKey"] for k in range(2)]
    for minutes, key in zip((3, 2), keys, strict=True):
        PushOperation.objects.filter(pk=key).update(requested_on=timezone.now() - timedelta(minutes=minutes))
    assert read_operation(partner_a, connected_account, keys[1])["status"] == "Success"
    add_fault(xero_on_live_server, **GET_STATEMENT, status=503, count=1)
    push(partner_a, connected_account, batch(2, first_id=5, opening=Decimal("995.00")))
    assert faults_left(xero_on_live_server) == [1]  # the older Pending one is the sweep's
    assert status(keys[0]) == "Pending"


def test_a_batch_sent_again_moments_after_xero_rejected_it_asks_xero_first(partner_a, connected_account):
    # The partner resends without reading (nor having been told yet): the statement Xero
    # took moments ago is asked about before the batch is called already delivered.
    transactions = batch(2)
    first = push(partner_a, connected_account, transactions)["pushOperationKey"]
    reject_statement(PushOperation.objects.get(pk=first).xero_statement_id, "The statement could not be processed.")
    again = push(partner_a, connected_account, transactions)
    assert status(first) == "Failed"
    assert again["validation"]["warnings"] == []  # not "already delivered": it went to Xero
    assert read_operation(partner_a, connected_account, again["pushOperationKey"])["status"] == "Failed"
    assert len(delivered_lines(connected_account)) == 0


def test_the_sweep_asks_once_about_a_push_pending_for_over_a_minute(partner_a, connected_account,
                                                                     xero_on_live_server):
    key = push(partner_a, connected_account, batch(2))["pushOperationKey"]
    assert push_service.push_sweep() == 0  # not a minute old yet
    PushOperation.objects.filter(pk=key).update(requested_on=timezone.now() - timedelta(minutes=2))
    add_fault(xero_on_live_server, **GET_STATEMENT, status=503, count=2)
    assert push_service.push_sweep() == 1
    assert faults_left(xero_on_live_server) == [1]  # one call
    assert status(key) == "Pending"
    assert push_service.push_sweep() == 0  # asked within the minute: not again
    PushOperation.objects.filter(pk=key).update(checked_at=timezone.now() - timedelta(minutes=2))
    requests.delete(f"{xero_on_live_server}/xero-sandbox/_faults", timeout=10)
    assert push_service.push_sweep() == 1
    assert status(key) == "Success"
    assert len(write_events(key)) == 1


def test_past_its_timeout_without_a_final_answer_a_push_is_timed_out(partner_a, connected_account,
                                                                     xero_on_live_server):
    key = push(partner_a, connected_account, batch(2), "?timeoutInMinutes=5")["pushOperationKey"]
    PushOperation.objects.filter(pk=key).update(requested_on=timezone.now() - timedelta(minutes=6))
    add_fault(xero_on_live_server, **GET_STATEMENT, status=503)
    body = read_operation(partner_a, connected_account, key)
    assert (body["status"], body["statusCode"]) == ("TimedOut", 504)
    assert "timeoutInMinutes (5)" in body["errorMessage"]
    # What Xero took stays delivered: the same batch again is recognised, not sent twice.
    again = push(partner_a, connected_account, batch(2))
    assert again["status"] == "Success"
    assert len(delivered_lines(connected_account)) == 2
    [event] = write_events(key)
    assert event.event_type == "bankTransactions.write.unsuccessful"


def test_settling_one_push_from_several_places_at_once_fires_one_write_event(partner_a, connected_account):
    key = push(partner_a, connected_account, batch(2))["pushOperationKey"]
    barrier = threading.Barrier(4)

    def settle():
        from django.db import connection

        operation = PushOperation.objects.select_related("connection").get(pk=key)
        barrier.wait()
        push_service.push_settle(operation=operation)
        connection.close()

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert status(key) == "Success"
    assert len(write_events(key)) == 1


def orphan(partner, account, transactions):
    """A push whose worker died after Xero took its statement and before recording Xero's
    answer, or whose recorded answer a database crash lost (it is committed without waiting
    for the disk): Pending, nothing recorded, the account where it was before."""
    key = push(partner, account, transactions)["pushOperationKey"]
    taken = PushOperation.objects.get(pk=key)
    PushOperation.objects.filter(pk=key).update(delivered=False, xero_statement_id=None)
    SourceAccount.objects.filter(pk=account.pk).update(last_end_balance=None, last_end_date=None)
    Event.objects.all().delete()
    return key, taken.xero_statement_id


def test_an_orphan_whose_statement_reached_xero_is_settled_by_a_read_without_a_second_statement(
        partner_a, connected_account):
    key, statement_id = orphan(partner_a, connected_account, batch(3))
    read = read_operation(partner_a, connected_account, key)
    assert read["status"] in ("Pending", "Success")
    operation = PushOperation.objects.get(pk=key)
    assert (operation.delivered, operation.xero_statement_id) == (True, statement_id)
    assert read_operation(partner_a, connected_account, key)["status"] == "Success"
    assert len([s for s in statements() if s["status"] == "DELIVERED"]) == 1
    assert len(delivered_lines(connected_account)) == 3
    assert len(write_events(key)) == 1


def test_the_resend_after_an_orphan_finishes_it_and_is_recognised(partner_a, connected_account):
    transactions = batch(3)
    key, _ = orphan(partner_a, connected_account, transactions)
    again = push(partner_a, connected_account, transactions)
    assert again["status"] == "Success"
    assert "already delivered" in again["validation"]["warnings"][0]["message"]
    assert PushOperation.objects.get(pk=key).delivered
    assert len(delivered_lines(connected_account)) == 3


def test_an_orphan_past_its_timeout_is_timed_out_without_posting_it_late(partner_a, connected_account,
                                                                        xero_on_live_server):
    key = push(partner_a, connected_account, batch(2), "?timeoutInMinutes=1")["pushOperationKey"]
    PushOperation.objects.filter(pk=key).update(delivered=False, xero_statement_id=None,
                                                requested_on=timezone.now() - timedelta(minutes=2))
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/Statements", method="POST", status=503)
    assert read_operation(partner_a, connected_account, key)["status"] == "TimedOut"
    assert faults_left(xero_on_live_server) == [1]  # nothing was posted
    assert PushOperation.objects.get(pk=key).maybe_delivered


def test_a_read_leaves_a_push_that_is_still_running_to_it(partner_a, connected_account):
    key, _ = orphan(partner_a, connected_account, batch(2))
    operation = PushOperation.objects.get(pk=key)
    with push_service.account_lock(operation.connection_id, operation.account_id):  # its worker still at it
        assert read_operation(partner_a, connected_account, key)["status"] == "Pending"
    assert not PushOperation.objects.get(pk=key).delivered


def test_a_sweep_pass_asks_about_two_pushes_per_connection_at_most(partner_a, connected_account):
    opening = Decimal("1000.00")
    for n in range(3):
        transactions = batch(2, first_id=10 * n, opening=opening)
        opening = Decimal(str(transactions[-1]["balance"]))
        push(partner_a, connected_account, transactions)
    # As if Xero had confirmed none of them yet, a while ago.
    PushOperation.objects.update(status="Pending", completed_on=None, checked_at=None,
                                 requested_on=timezone.now() - timedelta(minutes=5))
    assert push_service.push_sweep() == 2
    assert PushOperation.objects.filter(status="Pending").count() == 1
    assert push_service.push_sweep() == 1
