"""create_statement's `while_xero_reads`: the caller's work runs once the statement is
sent and before Xero's answer is read (a push writes its answer's transactions then), and
an error in it never costs the exchange. Against the sandbox over HTTP."""

import logging
import time

import pytest

from apps.feeds import statements as feed_statements
from apps.feeds.models import FeedConnection
from apps.feeds.serializers import read_transactions
from apps.xero_auth import client, tokens
from tests.feeds.push_support import add_fault, batch
from tests.xero_helpers import statements

pytestmark = pytest.mark.django_db(transaction=True)


def _statement(account):
    feed = FeedConnection.objects.get(source_account=account)
    checked = read_transactions(batch(3))
    assert not checked.errors, checked.errors
    return feed_statements.build_statement(checked.transactions, feed_connection_id=str(feed.xero_feed_connection_id))


def _post(account, **call):
    connection = account.connection
    statement = _statement(account)
    return client.create_statement(access_token=tokens.access_token_for(connection),
                                   tenant_id=str(connection.tenant_id), statement_json=statement.json,
                                   idempotency_key=statement.idempotency_key, **call)


def test_the_work_runs_once_while_xero_holds_the_statement_not_after_its_answer(connected_account, settings,
                                                                                 live_server):
    # Xero holds the statement for 1.5 s before it answers (a 500): the work has run long before.
    settings.XERO_TIMEOUT_SECONDS = 5
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", mode="hang", seconds=1.5)
    started = time.monotonic()
    ran = []
    with pytest.raises(client.XeroUnavailable):
        _post(connected_account, while_xero_reads=lambda: ran.append(time.monotonic() - started))
    assert time.monotonic() - started >= 1.5
    assert len(ran) == 1
    assert ran[0] < 1.0


def test_the_work_runs_after_the_statement_is_sent_and_the_answer_is_xeros_all_the_same(connected_account):
    before = len(statements())
    seen_by_xero = []

    def work():
        # The statement is on its way to Xero already: it arrives while this waits.
        deadline = time.monotonic() + 5
        while len(statements()) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        seen_by_xero.append(len(statements()) == before + 1)

    accepted = _post(connected_account, while_xero_reads=work)
    assert seen_by_xero == [True]
    assert accepted.id == statements()[-1]["id"]


def test_an_error_in_the_work_is_logged_and_the_statement_still_taken_once(connected_account, caplog):
    before = len(statements())

    def broken():
        raise RuntimeError("writing the answer failed")

    with caplog.at_level(logging.ERROR, logger="apps.xero_auth.client"):
        accepted = _post(connected_account, while_xero_reads=broken)
    assert accepted.id
    assert len(statements()) == before + 1
    assert "writing the answer failed" in caplog.text
