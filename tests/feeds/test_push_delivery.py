"""Pushes against the sandbox over real HTTP: delivered once, retries safe, faults
reported with canBeRetried, concurrent pushes in order, constant SQL."""

import threading
from decimal import Decimal

import pytest
import requests
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.feeds.models import BankTransaction, PushOperation, SourceAccount
from apps.xero_auth.models import XeroConnection
from tests.feeds.push_support import add_fault, batch, push_url, read_operation
from tests.xero_helpers import delivered_lines, portal_app, reject_statement, statements

pytestmark = pytest.mark.django_db(transaction=True)


def push(partner, account, transactions, **headers):
    return partner.post(push_url(account), {"accountId": account.account_id, "transactions": transactions},
                        format="json", **headers)


def test_a_push_is_taken_by_xero_and_reads_back_as_success_with_the_created_lines(partner_a, connected_account):
    response = push(partner_a, connected_account, batch(3))
    assert response.status_code == 200, response.content
    body = response.json()
    # Xero answered 202 with the statement PENDING: taken, not yet confirmed delivered.
    assert body["status"] == "Pending"
    assert body["statusCode"] == 202
    assert body["changes"] == []
    assert [t["id"] for t in body["data"]["transactions"]] == ["t1", "t2", "t3"]
    assert len(delivered_lines(connected_account)) == 3
    assert SourceAccount.objects.get(pk=connected_account.pk).balance == Decimal("996.25")

    read = read_operation(partner_a, connected_account, body["pushOperationKey"])
    assert read["status"] == "Success"
    assert read["statusCode"] == 200
    assert [c["recordRef"]["id"] for c in read["changes"]] == ["t1", "t2", "t3"]


def test_a_batch_already_delivered_answers_success_without_a_new_statement(partner_a, connected_account):
    transactions = batch(3)
    assert push(partner_a, connected_account, transactions).json()["status"] == "Pending"
    again = push(partner_a, connected_account, transactions)
    assert again.status_code == 200
    assert again.json()["status"] == "Success"
    assert "already delivered" in again.json()["validation"]["warnings"][0]["message"]
    assert len(delivered_lines(connected_account)) == 3


def test_a_batch_mixing_delivered_and_new_ids_is_refused_naming_them(partner_a, connected_account):
    push(partner_a, connected_account, batch(2))
    mixed = batch(3, opening=Decimal("997.50"), first_id=2)
    response = push(partner_a, connected_account, mixed)
    assert response.status_code == 400
    assert [e["itemId"] for e in response.json()["validation"]["errors"]] == ["t2"]
    assert len(delivered_lines(connected_account)) == 2


def test_a_gap_in_balances_is_delivered_with_a_warning(partner_a, connected_account):
    push(partner_a, connected_account, batch(2, opening=Decimal("1000.00")))
    response = push(partner_a, connected_account, batch(2, first_id=3, opening=Decimal("900.00")))
    body = response.json()
    assert body["status"] == "Pending"
    assert body["validation"]["warnings"][0]["validatorName"] == "BalanceGap"
    assert "may be missing" in body["validation"]["warnings"][0]["message"]


def test_the_idempotency_key_replays_the_first_answer(partner_a, connected_account):
    transactions = batch(2)
    first = push(partner_a, connected_account, transactions, HTTP_IDEMPOTENCY_KEY="push-1")
    again = push(partner_a, connected_account, transactions, HTTP_IDEMPOTENCY_KEY="push-1")
    assert again.json() == first.json()
    assert PushOperation.objects.count() == 1
    other = push(partner_a, connected_account, batch(2, first_id=10), HTTP_IDEMPOTENCY_KEY="push-1")
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("fault", "partner_status"),
    [
        ({"mode": "status", "status": 500}, 503),
        ({"mode": "status", "status": 429, "retryAfter": 7}, 429),
        ({"mode": "hang", "seconds": 2}, 503),
        ({"mode": "drop_after_commit"}, 503),
    ],
    ids=["xero-500", "xero-429", "timeout", "response-lost-after-commit"],
)
def test_faults_are_retryable_and_a_resend_leaves_one_copy(partner_a, connected_account, settings, fault,
                                                           partner_status, live_server):
    settings.XERO_TIMEOUT_SECONDS = 1.5
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", **fault)
    transactions = batch(5)
    response = push(partner_a, connected_account, transactions)
    assert response.status_code == partner_status, response.content
    body = response.json()
    assert body["canBeRetried"] == "True"
    if partner_status == 429:
        assert response["Retry-After"] == "7"
    operation = PushOperation.objects.get(push_operation_key=body["correlationId"])
    assert operation.status == "Failed"

    resend = push(partner_a, connected_account, transactions)
    assert resend.status_code == 200, resend.content
    assert resend.json()["status"] in ("Pending", "Success")
    assert read_operation(partner_a, connected_account, resend.json()["pushOperationKey"])["status"] == "Success"
    lines = delivered_lines(connected_account)
    assert sorted(line["transactionId"] for line in lines) == sorted(t["id"] for t in transactions)


@pytest.fixture
def database_refuses_one_batch():
    """PostgreSQL refuses the next batch of lines once (a fault such as a full disk), from a
    trigger: the refusal comes while Xero is already reading the statement."""
    with db_connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE test_refuse_once; CREATE FUNCTION test_refuse_once() RETURNS trigger "
                       "LANGUAGE plpgsql AS $$ BEGIN IF nextval('test_refuse_once') = 1 THEN "
                       "RAISE EXCEPTION 'could not extend file (injected)'; END IF; RETURN NULL; END $$; "
                       "CREATE TRIGGER test_refuse_once BEFORE INSERT ON feeds_banktransaction "
                       "FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_once()")
    yield
    with db_connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_refuse_once ON feeds_banktransaction; "
                       "DROP FUNCTION test_refuse_once(); DROP SEQUENCE test_refuse_once")


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="the batch is stored during the post on PostgreSQL")
def test_a_batch_the_database_refuses_while_xero_takes_it_is_resent_and_delivered_once(
        partner_a, connected_account, database_refuses_one_batch):
    transactions = batch(4)
    response = push(partner_a, connected_account, transactions)
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["canBeRetried"] == "True"
    assert "Resend the same batch" in body["error"]
    assert not PushOperation.objects.exists() and not BankTransaction.objects.exists()
    assert len(delivered_lines(connected_account)) == 4  # Xero read the statement meanwhile

    resend = push(partner_a, connected_account, transactions)
    assert resend.status_code == 200, resend.content
    assert resend.json()["status"] in ("Pending", "Success")
    assert read_operation(partner_a, connected_account, resend.json()["pushOperationKey"])["status"] == "Success"
    assert sorted(line["transactionId"] for line in delivered_lines(connected_account)) == ["t1", "t2", "t3", "t4"]
    assert BankTransaction.objects.count() == 4


def test_a_statement_xero_answers_401_is_posted_again_with_a_fresh_token_and_stored_once(partner_a, connected_account,
                                                                                          live_server):
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", mode="status", status=401,
              count=1)
    token = XeroConnection.objects.get(pk=connected_account.connection_id).access_token
    response = push(partner_a, connected_account, batch(3))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Pending"
    assert XeroConnection.objects.get(pk=connected_account.connection_id).access_token != token  # refreshed
    assert PushOperation.objects.count() == 1
    assert BankTransaction.objects.count() == 3
    assert sorted(line["transactionId"] for line in delivered_lines(connected_account)) == ["t1", "t2", "t3"]


def test_invalid_grant_during_a_push_deauthorises_and_is_not_retryable(partner_a, connected_account, live_server):
    XeroConnection.objects.filter(pk=connected_account.connection_id).update(access_token_expires_at=None)
    add_fault(live_server.url, operation="connect/token", mode="invalid_grant")
    transactions = batch(2)
    response = push(partner_a, connected_account, transactions)
    assert response.status_code == 400
    assert response.json()["canBeRetried"] == "False"
    connection = XeroConnection.objects.get(pk=connected_account.connection_id)
    assert connection.status == "Deauthorized"
    assert connection.data_connection_errors[0]["status"] == "Active"
    assert len(delivered_lines(connected_account)) == 0
    # Resending before the company reconnects changes nothing.
    assert push(partner_a, connected_account, transactions).status_code == 400
    assert len(delivered_lines(connected_account)) == 0


def test_a_pending_statement_is_asked_again_when_the_operation_is_read(partner_a, connected_account, live_server):
    body = push(partner_a, connected_account, batch(2)).json()
    assert body["status"] == "Pending"
    # Xero cannot be asked right now: the operation stays Pending and nothing breaks.
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements/", method="GET", status=500)
    assert read_operation(partner_a, connected_account, body["pushOperationKey"])["status"] == "Pending"
    assert read_operation(partner_a, connected_account, body["pushOperationKey"])["status"] == "Success"
    assert SourceAccount.objects.get(pk=connected_account.pk).balance == Decimal("997.50")


def test_a_pending_push_from_before_delivery_was_recorded_is_completed_when_read(partner_a, connected_account):
    body = push(partner_a, connected_account, batch(2)).json()
    # As the migration leaves a push that was Pending then: not counted delivered, the
    # account not moved on.
    PushOperation.objects.filter(push_operation_key=body["pushOperationKey"]).update(delivered=False)
    SourceAccount.objects.filter(pk=connected_account.pk).update(last_end_balance=None, last_end_date=None,
                                                                 balance=Decimal("1000.00"))

    assert read_operation(partner_a, connected_account, body["pushOperationKey"])["status"] == "Success"
    assert PushOperation.objects.get(push_operation_key=body["pushOperationKey"]).delivered
    assert SourceAccount.objects.get(pk=connected_account.pk).last_end_balance == Decimal("997.50")
    assert push(partner_a, connected_account, batch(2)).json()["validation"]["warnings"][0]["validatorName"] == \
        "AlreadyDelivered"


def test_a_statement_xero_rejects_after_taking_it_fails_and_is_no_longer_counted_delivered(partner_a,
                                                                                           connected_account):
    transactions = batch(2)
    body = push(partner_a, connected_account, transactions).json()
    assert body["status"] == "Pending"
    assert SourceAccount.objects.get(pk=connected_account.pk).last_end_balance == Decimal("997.50")
    # Xero's own processing refuses the statement after the 202.
    reject_statement(PushOperation.objects.get(pk=body["pushOperationKey"]).xero_statement_id,
                     "The statement could not be processed.")

    read = read_operation(partner_a, connected_account, body["pushOperationKey"])
    assert read["status"] == "Failed"
    assert read["validation"]["errors"][0]["message"] == "The statement could not be processed."
    assert SourceAccount.objects.get(pk=connected_account.pk).last_end_balance == Decimal("1000.00")

    # A resend is not refused as already delivered: it goes to Xero, which answers for it.
    resend = push(partner_a, connected_account, transactions)
    assert resend.status_code == 200, resend.content
    assert resend.json()["validation"]["warnings"] == []
    assert read_operation(partner_a, connected_account, resend.json()["pushOperationKey"])["status"] == "Failed"
    assert len(delivered_lines(connected_account)) == 0


def test_concurrent_pushes_to_one_account_are_delivered_once_and_in_order(partner_a, connected_account, live_server):
    batches = [batch(10, first_id=1 + 10 * k, opening=Decimal("1000.00") - Decimal("12.50") * k) for k in range(20)]
    url = f"{live_server.url}{push_url(connected_account)}"
    results = []

    def send(transactions):
        answer = requests.post(url, json={"accountId": "acc-1", "transactions": transactions},
                               headers={"Authorization": partner_a.auth}, timeout=60)
        results.append(answer)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200] * 20, [r.text for r in results if r.status_code != 200]
    assert all(r.json()["status"] == "Pending" for r in results)
    lines = delivered_lines(connected_account)
    assert len(lines) == 200
    assert len({line["transactionId"] for line in lines}) == 200

    at_xero = [s["id"] for s in statements() if s["status"] == "DELIVERED"]
    ours = [str(k) for k in PushOperation.objects.order_by("requested_on").values_list("xero_statement_id", flat=True)]
    assert at_xero == ours


@pytest.mark.skipif(db_connection.vendor != "postgresql",
                    reason="constant on PostgreSQL, which stores a batch in one statement")
def test_a_push_runs_the_same_number_of_queries_whatever_its_size(connected_account):
    from apps.feeds.push import transactions_push
    from apps.feeds.serializers import read_transactions

    connection = connected_account.connection
    counts = {}
    opening = Decimal("1000.00")
    # Both sizes measured after a push, each following a Pending one as in a stream of pushes.
    warm_up = batch(1, prefix="w-", opening=opening)
    transactions_push(company=connection.company, connection=connection, account_id="acc-1", body_account_id="acc-1",
                      checked=read_transactions(warm_up))
    opening = Decimal(str(warm_up[-1]["balance"]))
    for size in (1, 1000):
        transactions = batch(size, prefix=f"s{size}-", opening=opening)
        opening = Decimal(str(transactions[-1]["balance"]))
        with CaptureQueriesContext(db_connection) as queries:
            operation = transactions_push(company=connection.company, connection=connection, account_id="acc-1",
                                          body_account_id="acc-1", checked=read_transactions(transactions))
        assert operation.status == "Pending"
        counts[size] = len(queries)
    assert counts[1] == counts[1000], counts


def test_a_pushs_statements_are_planned_once_per_database_connection(partner_a, connected_account):
    """From the second push on a connection, its key, account and answer statements run
    prepared: PostgreSQL does not plan them again (that was most of their time)."""
    if db_connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")

    def prepared():
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
            return [row[0] for row in cursor.fetchall()]

    opening = Decimal("1000.00")
    counts = []
    for n in range(3):
        transactions = batch(2, prefix=f"p{n}-", opening=opening)
        opening = Decimal(str(transactions[-1]["balance"]))
        assert push(partner_a, connected_account, transactions).status_code == 200
        counts.append(len(prepared()))
    statements = prepared()
    assert counts[1] == counts[2] >= 3, counts  # prepared by the second push, none added by the third
    assert any("FROM tenants_partnerapikey k" in s for s in statements), statements
    assert any("FROM feeds_sourceaccount a" in s for s in statements), statements
    assert any("set_config('synchronous_commit', 'off', true)" in s for s in statements), statements


def test_a_push_asks_redis_three_times(connected_account, monkeypatch):
    """The account lock, the Xero call's slot, and both given back in one round trip."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from redis.connection import AbstractConnection

    from apps.feeds.push import transactions_push
    from apps.feeds.serializers import read_transactions

    if not isinstance(caches["default"], RedisCache):
        pytest.skip("no Redis cache configured (REDIS_URL)")
    connection = connected_account.connection
    warm_up = batch(1, prefix="w-")  # the scripts registered, the pool's connection opened
    transactions_push(company=connection.company, connection=connection, account_id="acc-1", body_account_id="acc-1",
                      checked=read_transactions(warm_up))
    sent, me, send = [], threading.get_ident(), AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        if threading.get_ident() == me:
            sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    operation = transactions_push(
        company=connection.company, connection=connection, account_id="acc-1", body_account_id="acc-1",
        checked=read_transactions(batch(2, prefix="r-", opening=Decimal(str(warm_up[-1]["balance"])))))
    assert operation.status == "Pending"
    assert len(sent) == 3, sent


def test_past_our_per_organisation_limit_the_partner_gets_429_and_xero_is_not_called(partner_a, connected_account,
                                                                                     settings):
    from django.core.cache import cache

    cache.clear()  # forget the calls that set the feed up
    # A push costs one call (post the statement); allow one push a minute.
    settings.XERO_RATE_LIMITS = {**settings.XERO_RATE_LIMITS, "tenant_per_minute": 1}
    assert push(partner_a, connected_account, batch(2)).json()["status"] == "Pending"
    statements_before = len(statements())
    response = push(partner_a, connected_account, batch(2, first_id=3, opening=Decimal("997.50")))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["canBeRetried"] == "True"
    assert len(statements()) == statements_before


def test_an_access_token_about_to_expire_is_refreshed_inline_during_a_push(partner_a, connected_account):
    from django.utils import timezone

    XeroConnection.objects.filter(pk=connected_account.connection_id).update(
        access_token_expires_at=timezone.now() + timezone.timedelta(seconds=60))
    refreshes = portal_app()["refreshCount"]
    assert push(partner_a, connected_account, batch(2)).json()["status"] == "Pending"
    assert portal_app()["refreshCount"] == refreshes + 1
    assert XeroConnection.objects.get(pk=connected_account.connection_id).access_token_expires_at > \
        timezone.now() + timezone.timedelta(minutes=25)


def test_deleting_the_account_deletes_its_stored_transactions_and_keeps_the_operations(partner_a,
                                                                                      connected_account):
    body = push(partner_a, connected_account, batch(3)).json()
    assert BankTransaction.objects.filter(source_account_id=connected_account.pk).count() == 3
    connection = connected_account.connection
    url = (f"/api/companies/{connection.company_id}/connections/{connection.id}/connectionInfo/bankFeedAccounts/"
           f"{connected_account.account_id}")

    assert partner_a.delete(url).status_code == 204

    # The rows have no database-level foreign keys; the ORM's cascade must leave no orphans.
    assert not BankTransaction.objects.exists()
    operation = PushOperation.objects.get(push_operation_key=body["pushOperationKey"])
    assert operation.source_account_id is None
    assert operation.delivered
