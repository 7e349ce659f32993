"""transactions_push: a partner's batch of bank transactions, written to Xero as one
statement inside the partner's request; and what follows it (settling a Pending push,
staff retrying a failed one).

Order of work, so that nothing is lost and nothing doubled:
1. the batch was read and checked field by field (serializers.read_transactions) — a
   refusal stores only the failed operation;
2. under a per-account lock (statements reach Xero in order), compare with what Xero
   already took: all taken answers Success without a new statement, a mix is refused;
3. store the operation and its transactions in one database transaction, and
4. meanwhile post the statement with an Idempotency-Key derived from its content, so a
   resend of the same batch after a timeout or a lost answer is recognised by Xero. The
   database is handed the whole batch, COMMIT included, before the post starts, and
   writes it while Xero reads the statement (store.store_batch); should the database
   refuse it, the partner is asked to resend (503), which Xero recognises by the key;
5. record Xero's answer. Xero answers 202 with the statement PENDING (it delivers into
   the bank account shortly after) or DELIVERED: either way Xero has taken it, so its
   transactions count as delivered and the account moves on to the statement's end
   balance; the operation is Success when Xero says delivered and Pending until then.
   A refusal is Failed with Xero's problem kept.

A Pending operation settles without the partner asking for it (push_settle): when it is
read, when the operations are listed, before the next push to its account (whose
statement follows its balance) and by the relay's sweep, each time with one call to
Xero at most: delivered makes it Success; rejected makes it Failed and hands its
transactions back, so the batch can be sent again; its timeoutInMinutes passed without
a final answer makes it TimedOut. The push itself does not ask straight away: against
Xero the answer is still pending moments after the post. For the same reason the next
push asks only about the last statement, if Pending (the balance chain follows it), and
not if Xero answered for it within SETTLE_RECHECK, unless the batch holds transactions
Xero took (a resend: their statement may have been rejected); older ones are the sweep's.

An operation whose worker died between storing it and recording Xero's answer, or whose
recorded answer a database crash lost (a Pending answer is committed without waiting for
the disk; the batch itself was made durable while Xero read the statement), is an
orphan (Pending, nothing recorded, its account lock free) and is finished the same way: its
statement, rebuilt from the stored transactions, is posted again under the same
Idempotency-Key. If the first post reached Xero, Xero answers as it did then (or calls
it a duplicate, which counts as delivered); if not, it is delivered now. Either way once.

The account lock is held for one Xero exchange's deadline plus LOCK_MARGIN, and held
anew before an exchange that starts later (xero_exchange): a worker killed mid-push
frees the account within LOCK_MARGIN of the exchange's deadline, not minutes later.
"""

import hashlib
import logging
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from functools import cache

import orjson
from django.conf import settings
from django.db import connections
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from apps.core import rows
from apps.core.locks import LockBusy, named_lock
from apps.core.refusals import Refused
from apps.xero_auth import client
from apps.xero_auth.models import XeroConnection
from apps.xero_auth.refusals import CONNECTION_NOT_LINKED, ConnectionNotLinked
from apps.xero_auth.tokens import xero_call

from . import source_accounts, statements, store
from .models import FeedStatus, PushOperation, PushStatus, SourceAccount, SourceAccountStatus
from .statements import Checked, rule_item

logger = logging.getLogger(__name__)

ACCOUNT_MISMATCH = "accountId in the body ({body}) must equal the account in the path ({path})."
ACCOUNT_UNKNOWN = "Source account {id} does not exist on this connection."
ACCOUNT_NOT_CONNECTED = "Source account {id} is {status}; map it to a Xero account before pushing transactions."
ALREADY_DELIVERED = "Transaction {id} was already delivered to Xero; resend only new transactions."
ALL_DELIVERED = "Every transaction in this batch was already delivered to Xero; no new statement was sent."
GAP_WARNING = ("This statement starts at balance {start} but the last statement delivered for this account ended "
               "at {last}: transactions may be missing between the two.")
DUPLICATE_OF_RESEND = "Xero already had this statement from an earlier attempt; it was not delivered twice."
RETRY_NOT_FAILED = "Only a failed push can be retried; this one is {status}."
RETRY_NOTHING_STORED = "This push was refused before reaching Xero; there is no statement to send again."
RETRY_OUT_OF_ORDER = ("A later push to this account ({key}) was delivered since and ends on the same day ({date}): "
                      "sent now, this older statement would move the account's balance back. Retry failed pushes "
                      "oldest first.")
RETRY_DELIVERED_SINCE = "Transactions of this push were delivered by a later push: {ids}."
MAYBE_DELIVERED = ("Xero did not answer ({reason}); the statement may or may not have been delivered. Resend the same "
                   "batch: it is recognised and never delivered twice.")
BATCH_NOT_STORED = ("The push could not be recorded, and Xero may have received its statement. Resend the same "
                    "batch: it is recognised and never delivered twice.")
RATE_LIMITED = "Xero's rate limit was reached ({kind}); nothing was sent. Retry after {seconds} seconds."
STATEMENT_REFUSED = "Xero refused the statement."
STATEMENT_NOT_KEPT = "Xero rejected the statement."
STATEMENT_DUPLICATE = "Xero marked the statement duplicate."
ACCOUNT_BUSY = "Another push to account {id} is still running"
TIMED_OUT = ("Xero gave no final answer within timeoutInMinutes ({minutes}). What Xero took stays delivered, and a "
             "resend of this batch is recognised, never delivered twice.")
ORPHAN_NO_FEED = ("The push was interrupted and its account has no Xero feed any more; resend the batch once it is "
                  "mapped.")

# Beyond a Xero exchange's deadline, what the account lock allows for the database work
# around it. The lock is taken for one exchange and its margin, and extended before an
# exchange only when more than EXTEND_SLACK of that has gone: a push's one exchange starts
# milliseconds after the lock is taken, and asks Redis nothing more.
LOCK_MARGIN = 10
EXTEND_SLACK = 1
# Settling asks Xero about one Pending operation at most this often (a read always asks);
# the relay's sweep takes the operations Pending for longer than SWEEP_AGE.
SETTLE_RECHECK = timedelta(seconds=5)
SWEEP_AGE = timedelta(minutes=1)
# Settling shares the organisation's 60 calls a minute with the partner's pushes: a list
# settles this many of its page's Pending operations, a sweep pass this many per connection.
SETTLE_PER_LIST = 10
SWEEP_PER_CONNECTION = 2
FEED_REFUSED_TYPES = ("invalid-feed-connection", "invalid-feed-connection-for-organisation")


class PushRefused(Refused):
    """The batch was refused before reaching Xero (HTTP 400); `operation` records it."""

    def __init__(self, operation: PushOperation, *, status: int = 400, retry_after: int | None = None):
        super().__init__(operation.error_message, errors=operation.errors, warnings=operation.warnings,
                         status=status, can_be_retried=status in (409, 429) or status >= 500,
                         retry_after=retry_after, correlation_id=str(operation.push_operation_key))
        self.operation = operation


class PushInterrupted(PushRefused):
    """Xero could not be reached or throttled us; the partner should resend later."""


class PushRetryRefused(Refused):
    """Staff asked to retry a push that cannot be sent again."""


def account_lock_key(connection_id, account_id: str) -> str:
    return "push-lock:" + hashlib.sha256(f"{connection_id}:{account_id}".encode()).hexdigest()[:40]


def account_lock(connection_id, account_id: str, *, wait_seconds=None):
    """Serialise pushes to one account across threads and processes, so statements reach
    Xero in the order they were accepted. Keyed by the account's connection and partner
    id, so it is taken before the account is read. Yields the lock's Lease, which a Xero
    exchange under it extends when it starts late (xero_exchange); a waiter waits as long
    as one exchange may last."""
    hold = settings.XERO_TIMEOUT_SECONDS + LOCK_MARGIN
    wait = wait_seconds if wait_seconds is not None else hold
    return named_lock(account_lock_key(connection_id, account_id), hold_seconds=hold, wait_seconds=wait)


@contextmanager
def xero_exchange(lease=None):
    """One exchange with Xero (an inline refresh, the call, a retry after a 401) that ends
    within XERO_TIMEOUT_SECONDS; under the account lock, the lock is held until then plus
    LOCK_MARGIN, and the organisation's call slot no longer than the deadline."""
    seconds = settings.XERO_TIMEOUT_SECONDS
    hold = seconds + LOCK_MARGIN
    if lease is not None and lease.seconds_left() < hold - EXTEND_SLACK and not lease.extend(hold):
        logger.warning("Account lock %s expired before a Xero exchange", lease.key)
    with client.deadline(seconds):
        yield


def transactions_push(*, company, connection, account_id: str, body_account_id, checked: Checked,
                      timeout_in_minutes: int | None = None, while_xero_reads=None) -> PushOperation:
    """Push one batch (read and checked field by field into `checked`) to Xero and return
    its operation: Pending or Success once Xero took the statement, Failed when Xero
    refused it. Raises PushRefused (400) or PushInterrupted (429/503) with the operation,
    or Refused (503) while another push to the account runs too long.

    `while_xero_reads(operation)`, if given, is the caller's work that needs only the
    operation as sent (its transactions, not Xero's answer): it runs once the statement is
    sent, while Xero reads it, unless the push ends before (client.create_statement)."""
    try:
        with account_lock(connection.pk, account_id) as lease:
            # Read under the lock: the push before this one moved the account's balance.
            among_ids = None if checked.errors else [t.id for t in checked.transactions]
            source_account = _account_with_feed(connection, account_id, among_ids=among_ids)
            # The account's earlier pushes first: this statement's balance follows theirs,
            # and one whose worker died is finished before this one is compared with it.
            if source_account is not None and source_account.settle_first and _settle_account(
                    connection, account_id, lease, before_push_to=source_account):
                source_account = _account_with_feed(connection, account_id, among_ids=among_ids)
            errors = list(checked.errors)
            if body_account_id != account_id:
                errors.insert(0, rule_item("accountId", ACCOUNT_MISMATCH.format(body=body_account_id,
                                                                                path=account_id), "AccountId"))
            if not connection.is_linked:
                errors.insert(0, rule_item(None, CONNECTION_NOT_LINKED.format(status=connection.status),
                                           "Connection"))
            if source_account is None:
                errors.insert(0, rule_item(account_id, ACCOUNT_UNKNOWN.format(id=account_id), "SourceAccount"))
            elif source_account.status != SourceAccountStatus.CONNECTED:
                message = ACCOUNT_NOT_CONNECTED.format(id=account_id, status=source_account.status)
                errors.insert(0, rule_item(account_id, message, "SourceAccount"))
            if errors:
                raise PushRefused(PushOperation.record_refused(
                    company=company, connection=connection, source_account=source_account, account_id=account_id,
                    errors=errors, warnings=checked.warnings))
            return _push_locked(company, connection, source_account, checked, timeout_in_minutes, lease,
                                while_xero_reads)
    except LockBusy:
        raise Refused(ACCOUNT_BUSY.format(id=account_id), status=503, can_be_retried=True, retry_after=5)


# Written out (apps/core/rows.py): compiling it with the ORM (subquery annotations) cost
# ~0.8 ms of CPU on every push, ten times running it; a raw queryset, a third of that.
_ACCOUNT_WITH_FEED_SQL = (
    "SELECT {columns}, (SELECT f.xero_feed_connection_id FROM feeds_feedconnection f WHERE f.source_account_id = a.id "
    "AND f.status = %(connected)s ORDER BY f.created DESC LIMIT 1), "
    "(EXISTS (SELECT 1 FROM feeds_pushoperation p WHERE p.connection_id = a.connection_id "
    "AND p.account_id = a.account_id AND p.status = %(pending)s AND p.xero_statement_id IS NULL) "
    "OR COALESCE((SELECT p.status = %(pending)s AND COALESCE(p.checked_at, p.requested_on) < %(answered_before)s "
    "FROM feeds_pushoperation p WHERE p.source_account_id = a.id AND p.xero_statement_id IS NOT NULL "
    "ORDER BY p.requested_on DESC LIMIT 1), FALSE)){delivered} "
    "FROM feeds_sourceaccount a WHERE a.connection_id = %(connection)s AND a.account_id = %(account)s")


@cache
def _account_sql(among: bool) -> str:
    # Which of the batch's ids Xero already took, read with the account (PostgreSQL): one
    # round trip less on every push. As JSON text, not a text[]: psycopg's array loader and
    # its transformer refer to each other, a cycle left to the collector on every push.
    delivered = (f", array_to_json(ARRAY({store.DELIVERED_AMONG_SQL.format(ids='%(ids)s', account='a.id')}))::text"
                 if among else "")
    return _ACCOUNT_WITH_FEED_SQL.format(columns=rows.columns(SourceAccount, "a"), delivered=delivered)


def _account_with_feed(connection, account_id, *, among_ids=None):
    """The source account, with its connected feed's Xero id as `xero_feed_connection_id`
    (None without one), whether a push must settle the account's Pending operations first
    as `settle_first` (_settle_account, before_push_to) and, on PostgreSQL, which of
    `among_ids` Xero already took on it as `delivered_among` (else None), in one query."""
    db = connections[SourceAccount.objects.db]
    among = among_ids is not None and db.vendor == "postgresql"
    params = {"connected": FeedStatus.CONNECTED.value, "pending": PushStatus.PENDING.value,
              "answered_before": db.ops.adapt_datetimefield_value(timezone.now() - SETTLE_RECHECK),
              "connection": XeroConnection._meta.pk.get_db_prep_value(connection.pk, db), "account": account_id}
    if among:
        params["ids"] = store.ids_param(list(among_ids))
    with rows.cursor(db.alias) as cursor:
        cursor.execute(_account_sql(among), params)
        row = cursor.fetchone()
    if row is None:
        return None
    n = rows.width(SourceAccount)
    account = rows.instance(SourceAccount, db.alias, row[:n])
    feed_id, settle_first = row[n], row[n + 1]
    account.xero_feed_connection_id = None if feed_id is None else uuid.UUID(str(feed_id))  # SQLite: hex text
    account.settle_first = bool(settle_first)
    account.delivered_among = set(orjson.loads(row[n + 2])) if among else None
    return account


def _delivered(source_account, ids: list[str]) -> set[str]:
    """Which of `ids` Xero already took on the account: as read with it, if it was."""
    if source_account.delivered_among is not None:
        return source_account.delivered_among.intersection(ids)
    return store.delivered_ids(source_account, ids)


def _push_locked(company, connection, source_account, checked, timeout_in_minutes, lease, while_xero_reads):
    # Lines dated before the feed start date are left out, each with a warning.
    transactions, left_out = statements.from_feed_start(checked.transactions, source_account.feed_start_date)
    warnings = [*checked.warnings, *left_out]
    common = {"company": company, "connection": connection, "source_account": source_account,
              "account_id": source_account.account_id}
    if not transactions:  # wholly before the feed start: nothing to send, nothing wrong
        return PushOperation.record_nothing_to_send(**common, warnings=warnings, timeout_in_minutes=timeout_in_minutes)
    ids = [t.id for t in transactions]
    delivered = _delivered(source_account, ids)
    if delivered and _settle_account(connection, source_account.account_id, lease):
        # Sent again: a statement Xero took and was not asked about before this push may
        # have been rejected since, handing its transactions back.
        source_account = _account_with_feed(connection, source_account.account_id, among_ids=ids)
        common["source_account"] = source_account
        delivered = _delivered(source_account, ids)
    if delivered and len(delivered) == len(ids):
        return PushOperation.record_nothing_to_send(
            **common, warnings=[rule_item(None, ALL_DELIVERED, "AlreadyDelivered")],
            timeout_in_minutes=timeout_in_minutes)
    if delivered:
        errors = [rule_item(i, ALREADY_DELIVERED.format(id=i), "AlreadyDelivered") for i in ids if i in delivered]
        raise PushRefused(PushOperation.record_refused(
            **common, errors=errors, warnings=warnings,
            message=f"{len(errors)} transaction(s) in this batch were already delivered."))
    if source_account.xero_feed_connection_id is None:
        error = rule_item(source_account.account_id, ACCOUNT_NOT_CONNECTED.format(
            id=source_account.account_id, status="not connected to a Xero feed"), "SourceAccount")
        raise PushRefused(PushOperation.record_refused(**common, errors=[error], warnings=[]))

    statement = statements.build_statement(transactions,
                                           feed_connection_id=str(source_account.xero_feed_connection_id))
    last = source_account.last_end_balance
    if last is not None and statement.start_balance != last:
        warnings.append(rule_item(transactions[0].id, GAP_WARNING.format(start=statement.start_balance, last=last),
                                  "BalanceGap"))

    operation = PushOperation(
        **common, status=PushStatus.PENDING, status_code=202, timeout_in_minutes=timeout_in_minutes,
        validation={"errors": [], "warnings": warnings}, transaction_count=len(transactions),
        statement_key=statement.idempotency_key, statement_start_date=statement.start_date,
        statement_end_date=statement.end_date, statement_start_balance=statement.start_balance,
        statement_end_balance=statement.end_balance)
    # Kept on the operation for the answer, so it is not read back from the database.
    operation._pushed = transactions
    ahead = None if while_xero_reads is None else (lambda: while_xero_reads(operation))
    return _deliver(operation, connection, source_account, statement, lease, batch=transactions,
                    while_xero_reads=ahead)


def problem_item(problem: client.XeroProblem, fallback: str) -> dict:
    """One of Xero's problems as a validation item naming Xero's problem type."""
    return rule_item(None, problem.text or fallback, problem.type or "Xero")


def _first_problem_text(exc: client.XeroRejected, without_problems: str) -> str:
    """The operation's error message: Xero's first problem in its words, else a sentence."""
    return (exc.problems[0].text or STATEMENT_REFUSED) if exc.problems else without_problems


def _deliver(operation, connection, source_account, statement, lease, *, interruption_keeps_pending=False,
             batch=None, while_xero_reads=None):
    """Post the statement and record Xero's answer on the operation. With `batch`, the
    operation is new: it is stored with these transactions while the statement is posted
    (store.store_batch), or before anything else when the call is refused on our side (the
    organisation's limit, the connection). Throttled or without an answer, the operation
    fails (the partner resends), unless `interruption_keeps_pending` (finishing an orphan:
    it is tried again later). `while_xero_reads` goes to client.create_statement."""
    unstored = batch

    def post(**call):
        nonlocal unstored
        if unstored is None:  # stored already: an orphan, a retry, or the call again after a 401
            return client.create_statement(**call)
        transactions, unstored = unstored, None
        return store.store_batch(operation, source_account, transactions,
                                 meanwhile=lambda: client.create_statement(**call))

    try:
        try:
            with xero_exchange(lease):
                accepted = xero_call(connection, post, statement_json=statement.json,
                                     idempotency_key=statement.idempotency_key, while_xero_reads=while_xero_reads)
        finally:
            if unstored is not None:  # refused before reaching Xero: recorded with its batch all the same
                store.store_batch(operation, source_account, unstored)
    except store.BatchNotStored as exc:
        logger.error("Push %s was posted to Xero but not stored (%s); the partner is asked to resend",
                     operation.pk, exc.__cause__)
        raise Refused(BATCH_NOT_STORED, status=503, can_be_retried=True, retry_after=5,
                      correlation_id=str(operation.pk)) from exc
    except ConnectionNotLinked as exc:
        operation.mark_failed(status_code=400, message=exc.message, errors=[rule_item(None, exc.message, "Connection")])
        raise PushRefused(operation)
    except client.XeroRateLimited as exc:
        if interruption_keeps_pending:
            return operation
        operation.mark_failed(status_code=429, errors=[], message=RATE_LIMITED.format(
            kind=exc.problem_kind or "minute", seconds=exc.retry_after))
        raise PushInterrupted(operation, status=429, retry_after=exc.retry_after)
    except client.XeroUnavailable as exc:
        if interruption_keeps_pending:
            return operation
        operation.maybe_delivered = operation.maybe_delivered or exc.maybe_delivered
        operation.mark_failed(status_code=exc.status or 503, message=MAYBE_DELIVERED.format(reason=exc), errors=[])
        raise PushInterrupted(operation, status=503)
    except client.XeroDuplicateStatement as exc:
        return _duplicate(operation, source_account, exc)
    except client.XeroItemRejected as exc:
        operation.mark_failed(status_code=exc.status, message=_first_problem_text(exc, STATEMENT_NOT_KEPT),
                              errors=[problem_item(p, STATEMENT_REFUSED) for p in exc.problems])
        return operation
    except client.XeroRejected as exc:
        problem = exc.problems[0] if exc.problems else client.XeroProblem()
        operation.mark_failed(status_code=exc.status or 400, message=problem.text or STATEMENT_REFUSED,
                              errors=[problem_item(problem, STATEMENT_REFUSED)])
        if problem.type in FEED_REFUSED_TYPES:
            # Xero no longer has the feed (removed in Xero): the account must be mapped again.
            source_accounts.feed_refused_by_xero(source_account=source_account, reason=problem.text)
        return operation
    operation.mark_taken(statement_id=accepted.id, delivered=accepted.delivered)
    return operation


def _duplicate(operation, source_account, exc: client.XeroDuplicateStatement):
    """The same statement sent before without an answer (this operation retried, or an
    earlier one resent) is the statement Xero already has: delivered, not doubled."""
    resent = operation.maybe_delivered or PushOperation.objects.filter(
        source_account=source_account, statement_key=operation.statement_key, maybe_delivered=True
    ).exclude(pk=operation.pk).exists()
    if resent:
        operation.validation["warnings"].append(rule_item(None, DUPLICATE_OF_RESEND, "DuplicateStatement"))
        operation.mark_taken(statement_id=exc.statement_id, delivered=True)
        return operation
    operation.mark_failed(status_code=409, message=_first_problem_text(exc, STATEMENT_DUPLICATE),
                          errors=[problem_item(p, STATEMENT_REFUSED) for p in exc.problems])
    return operation


def push_settle(*, operation: PushOperation, recheck: timedelta | None = None) -> PushOperation:
    """Settle a Pending operation with one call to Xero at most (unless Xero was asked about
    it within `recheck`): ask how the statement Xero took is now, or finish an orphan
    (module docstring); TimedOut once its timeoutInMinutes passed without a final answer.
    An operation whose push is still running is left to it."""
    if operation.status != PushStatus.PENDING:
        return operation
    if recheck is not None and _asked_within(operation, recheck):
        return operation
    if operation.xero_statement_id:
        _settle_locked(operation, lease=None)
        return operation
    try:
        with account_lock(operation.connection_id, operation.account_id, wait_seconds=0) as lease:
            operation.refresh_from_db()
            _settle_locked(operation, lease)
    except LockBusy:
        pass  # its push holds the account: it records the answer itself
    return operation


def push_settle_many(*, operations) -> None:
    """Settle up to SETTLE_PER_LIST of the Pending ones of `operations` (a page of a list),
    their calls to Xero within one exchange's deadline so the list answers in time; the
    relay's sweep settles the rest."""
    pending = [o for o in operations if o.status == PushStatus.PENDING][:SETTLE_PER_LIST]
    # The connections of those Xero will be asked about, in one query, not one each
    # (those read already are left); shared, so a token refreshed for one serves the next.
    prefetch_related_objects([o for o in pending if not _asked_within(o, SETTLE_RECHECK)], "connection")
    with client.deadline(settings.XERO_TIMEOUT_SECONDS):
        for operation in pending:
            push_settle(operation=operation, recheck=SETTLE_RECHECK)


def push_sweep(*, limit: int = 50) -> int:
    """The relay's sweep: settle operations Pending for over a minute that Xero was not
    asked about in the last minute, oldest first, SWEEP_PER_CONNECTION at most per
    connection. Each is claimed by setting its checked_at (so several relays never ask
    twice); returns how many were asked."""
    now = timezone.now()
    due = (PushOperation.objects.filter(status=PushStatus.PENDING, requested_on__lt=now - SWEEP_AGE)
           .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now - SWEEP_AGE))
           .order_by("requested_on").values_list("pk", "checked_at", "connection_id")[:limit])
    asked = 0
    per_connection = Counter()
    for pk, checked_at, connection_id in due:
        if per_connection[connection_id] >= SWEEP_PER_CONNECTION:
            continue
        if not PushOperation.objects.filter(pk=pk, checked_at=checked_at).update(checked_at=now):
            continue  # another relay took it
        per_connection[connection_id] += 1
        operation = PushOperation.objects.select_related("connection", "source_account").get(pk=pk)
        operation.checked_at = checked_at  # as it was: the claim is not an answer from Xero
        push_settle(operation=operation)
        asked += 1
    return asked


def _settle_account(connection, account_id: str, lease, *, before_push_to: SourceAccount | None = None) -> bool:
    """Under the account lock: settle the account's Pending operations, except those Xero
    was asked about within SETTLE_RECHECK. `before_push_to` the account, only what the
    push depends on: orphans (finished before the batch is compared with what Xero took)
    and the last statement Xero took if Pending (the balance chain follows it), unless Xero
    answered for it within SETTLE_RECHECK (its post included): moments after taking a
    statement Xero still has it pending, and a question before every push of a quick
    succession would spend half of the organisation's 60 calls a minute. Older ones are
    the sweep's. Returns whether it settled any (asked Xero, or finished an orphan)."""
    pending = PushOperation.objects.filter(connection=connection, account_id=account_id, status=PushStatus.PENDING)
    if before_push_to is not None:
        last_taken = (PushOperation.objects.filter(source_account=before_push_to, xero_statement_id__isnull=False)
                      .order_by("-requested_on").values("pk")[:1])
        pending = pending.filter(Q(xero_statement_id__isnull=True) | Q(pk__in=last_taken))
    settled = False
    for operation in pending.order_by("requested_on"):
        operation.connection = connection
        if operation.xero_statement_id and (
                _answered_within(operation, SETTLE_RECHECK) if before_push_to is not None
                else _asked_within(operation, SETTLE_RECHECK)):
            continue
        _settle_locked(operation, lease)
        settled = True
    return settled


def _asked_within(operation, period: timedelta) -> bool:
    return operation.checked_at is not None and timezone.now() - operation.checked_at < period


def _answered_within(operation, period: timedelta) -> bool:
    """Xero answered for the operation's statement within `period`: asked about it, or took
    it (the post answers inside the push, moments after it was requested)."""
    return timezone.now() - (operation.checked_at or operation.requested_on) < period


def _timed_out(operation) -> bool:
    minutes = operation.timeout_in_minutes
    return bool(minutes) and timezone.now() >= operation.requested_on + timedelta(minutes=minutes)


def _settle_locked(operation, lease) -> None:
    """One call to Xero at most for a Pending operation: the statement Xero took, asked
    about; an orphan (nothing recorded, and under its account lock, so no push is running
    for it), posted again; TimedOut past its timeout (an orphan without posting it late)."""
    if operation.status != PushStatus.PENDING:
        return
    if operation.xero_statement_id:
        _ask_xero(operation, lease)
    elif _timed_out(operation):
        operation.mark_timed_out(message=TIMED_OUT.format(minutes=operation.timeout_in_minutes))
        return
    elif not operation.delivered and operation.statement_key and lease is not None:
        _finish_orphan(operation, lease)
    if operation.status == PushStatus.PENDING and _timed_out(operation):
        operation.mark_timed_out(message=TIMED_OUT.format(minutes=operation.timeout_in_minutes))


def _ask_xero(operation, lease) -> None:
    """Ask Xero about the statement it took and record what it says."""
    try:
        with xero_exchange(lease):
            state = xero_call(operation.connection, client.get_statement,
                              statement_id=str(operation.xero_statement_id))
    except client.XeroItemRejected as exc:
        operation.mark_rejected_after_taken(message=_first_problem_text(exc, STATEMENT_NOT_KEPT),
                                            errors=[problem_item(p, STATEMENT_REFUSED) for p in exc.problems])
        return
    except (client.XeroError, ConnectionNotLinked) as exc:
        logger.info("Statement %s of push %s not checked: %s", operation.xero_statement_id, operation.pk, exc)
        return
    if state.delivered and not operation.delivered:
        # Pending from before delivery was recorded when Xero takes a statement.
        operation.mark_taken(statement_id=operation.xero_statement_id, delivered=True)
    elif state.delivered:
        operation.mark_delivered()
    else:
        operation.mark_checked()


def _finish_orphan(operation, lease) -> None:
    """Post an orphan's statement again under its Idempotency-Key and record the answer."""
    source_account = _account_with_feed(operation.connection, operation.account_id)
    logger.warning("Push %s was left Pending by a worker that stopped; asking Xero with its statement", operation.pk)
    operation.maybe_delivered = True  # the first post may have reached Xero
    if source_account is None or source_account.xero_feed_connection_id is None:
        operation.mark_failed(status_code=400, message=ORPHAN_NO_FEED,
                              errors=[rule_item(operation.account_id, ORPHAN_NO_FEED, "SourceAccount")])
        return
    try:
        _deliver(operation, operation.connection, source_account, _stored_statement(operation, source_account),
                 lease, interruption_keeps_pending=True)
    except PushRefused:
        pass  # recorded on the operation


def _stored_statement(operation, source_account):
    """The operation's statement, rebuilt from its stored transactions: the same content, so
    the same Idempotency-Key."""
    return statements.build_statement([
        statements.Transaction(id=t.transaction_id, date=t.date.replace(tzinfo=None), amount=t.amount,
                               balance=t.balance, description=t.description, counterparty=t.counterparty,
                               reference=t.reference, reconciled=t.reconciled, transaction_type=t.transaction_type)
        for t in operation.transactions.order_by("pk")
    ], feed_connection_id=str(source_account.xero_feed_connection_id))


def push_retry(*, operation: PushOperation) -> PushOperation:
    """Send a failed push's statement again (staff, from admin). The statement is rebuilt
    from the stored transactions, so it carries the same Idempotency-Key and Xero never
    takes it twice; the operation itself records the new outcome."""
    if operation.status != PushStatus.FAILED:
        raise PushRetryRefused(RETRY_NOT_FAILED.format(status=operation.status))
    if not operation.statement_key or operation.source_account_id is None:
        raise PushRetryRefused(RETRY_NOTHING_STORED)
    account_id = operation.source_account.account_id
    with account_lock(operation.connection_id, account_id) as lease:
        source_account = _account_with_feed(operation.connection, account_id)
        # The account's balance follows the statement with the latest end date; on a tie, the
        # one taken last. A later push taken since that ends on the same day must stay last.
        later = PushOperation.objects.filter(
            source_account_id=operation.source_account_id, delivered=True, requested_on__gt=operation.requested_on,
            statement_end_date=operation.statement_end_date).order_by("requested_on").first()
        if later is not None:
            raise PushRetryRefused(RETRY_OUT_OF_ORDER.format(key=later.push_operation_key,
                                                             date=operation.statement_end_date))
        stored = list(operation.transactions.order_by("pk"))
        delivered = store.delivered_ids(source_account, [t.transaction_id for t in stored])
        if delivered:
            raise PushRetryRefused(RETRY_DELIVERED_SINCE.format(ids=", ".join(sorted(delivered)[:5])))
        if source_account.xero_feed_connection_id is None:
            raise PushRetryRefused(ACCOUNT_NOT_CONNECTED.format(id=account_id, status=source_account.status))
        statement = _stored_statement(operation, source_account)
        if not operation.mark_resent():
            raise PushRetryRefused(RETRY_NOT_FAILED.format(status=operation.status))
        return _deliver(operation, operation.connection, source_account, statement, lease)
