"""transactions_push: a partner's batch of bank transactions, written to Xero as one
statement inside the partner's request.

Order of work, so that nothing is lost and nothing doubled:
1. validate (statements.check_transactions) — a refusal stores only the failed operation;
2. under a per-account lock (statements reach Xero in order), compare with what Xero
   already took: all taken answers Success without a new statement, a mix is refused;
3. store the operation and its transactions in one database transaction;
4. post the statement with an Idempotency-Key derived from its content, so a resend of
   the same batch after a timeout or a lost answer is recognised by Xero;
5. record Xero's answer in one database transaction. Xero answers 202 with the
   statement PENDING (it delivers into the bank account shortly after) or DELIVERED:
   either way Xero has taken it, so its transactions count as delivered and the account
   moves on to the statement's end balance; the operation is Success when Xero says
   DELIVERED and Pending while it says PENDING. A refusal (4xx, a REJECTED item) is
   Failed with Xero's problem kept.

Reading a Pending operation asks Xero again (statement_status_refresh): DELIVERED makes
it Success, REJECTED makes it Failed and hands its transactions back, so the batch can
be sent again. The push itself does not ask straight away: against Xero the answer is
still PENDING moments after the post, and each call counts against the organisation's
60 calls a minute, so a second call per push would halve how often a company can push.
"""

import hashlib
import logging
import secrets
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from apps.xero_auth import client
from apps.xero_auth.services import ConnectionNotLinked, xero_call
from config.cache import redis_client, redis_script

from . import statements
from .models import (
    BankTransaction,
    FeedConnection,
    FeedStatus,
    PushOperation,
    PushStatus,
    SourceAccount,
    SourceAccountStatus,
)
from .statements import rule_item

logger = logging.getLogger(__name__)

ACCOUNT_MISMATCH = "accountId in the body ({body}) must equal the account in the path ({path})."
ACCOUNT_UNKNOWN = "Source account {id} does not exist on this connection."
ACCOUNT_NOT_CONNECTED = "Source account {id} is {status}; map it to a Xero account before pushing transactions."
CONNECTION_NOT_LINKED = "The connection is {status}; the company must connect Xero again before pushing."
ALREADY_DELIVERED = "Transaction {id} was already delivered to Xero; resend only new transactions."
ALL_DELIVERED = "Every transaction in this batch was already delivered to Xero; no new statement was sent."
GAP_WARNING = ("This statement starts at balance {start} but the last statement delivered for this account ended "
               "at {last}: transactions may be missing between the two.")
DUPLICATE_OF_RESEND = "Xero already had this statement from an earlier attempt; it was not delivered twice."
RETRY_NOT_FAILED = "Only a failed push can be retried; this one is {status}."
RETRY_NOTHING_STORED = "This push was refused before reaching Xero; there is no statement to send again."
RETRY_DELIVERED_SINCE = "Transactions of this push were delivered by a later push: {ids}."
MAYBE_DELIVERED = ("Xero did not answer ({reason}); the statement may or may not have been delivered. Resend the same "
                   "batch: it is recognised and never delivered twice.")


class PushRefused(Exception):
    """The batch was refused before reaching Xero (HTTP 400); `operation` records it."""

    def __init__(self, operation: PushOperation):
        super().__init__(operation.error_message)
        self.operation = operation


class PushInterrupted(Exception):
    """Xero could not be reached or throttled us; the partner should resend later."""

    def __init__(self, operation: PushOperation, *, status: int, retry_after: int | None = None):
        super().__init__(operation.error_message)
        self.operation = operation
        self.status = status
        self.retry_after = retry_after


# Delete the lock only if it is still ours (it may have timed out and been taken since).
RELEASE_LOCK_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"


def account_lock_key(connection_id, account_id: str) -> str:
    return "push-lock:" + hashlib.sha256(f"{connection_id}:{account_id}".encode()).hexdigest()[:40]


@contextmanager
def account_lock(connection_id, account_id: str, *, wait_seconds=None):
    """Serialise pushes to one account across threads and processes (the cache is Redis
    in production), so statements reach Xero in the order they were accepted. Keyed by
    the account's connection and partner id, so it is taken before the account is read."""
    key = account_lock_key(connection_id, account_id)
    # An int: Django's Redis cache stores ints as plain digits, which the release script
    # can compare (it pickles anything else).
    token = secrets.randbits(62)
    hold = int(settings.XERO_TIMEOUT_SECONDS * 3 + 30)
    deadline = time.monotonic() + (wait_seconds if wait_seconds is not None else hold)
    delay = 0.005
    while not cache.add(key, token, hold):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Another push to account {account_id} is still running")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    try:
        yield
    finally:
        client = redis_client()
        if client is not None:
            redis_script(client, RELEASE_LOCK_LUA)(keys=[cache.make_and_validate_key(key)], args=[token],
                                                   client=client)
        elif cache.get(key) == token:
            cache.delete(key)


def _record_failed(*, company, connection, source_account, account_id, errors, warnings=(), message, status_code):
    return PushOperation.objects.create(
        company=company, connection=connection, source_account=source_account, account_id=account_id,
        status=PushStatus.FAILED, status_code=status_code, error_message=message,
        validation={"errors": list(errors), "warnings": list(warnings)}, completed_on=timezone.now(),
    )


def transactions_push(*, company, connection, account_id: str, data: dict,
                      timeout_in_minutes: int | None = None) -> PushOperation:
    """Push one batch to Xero and return its operation: Pending or Success once Xero took
    the statement, Failed when Xero refused it. Raises PushRefused (400) or
    PushInterrupted (429/503) with the operation."""
    checked = statements.check_transactions(data.get("transactions"))
    with account_lock(connection.pk, account_id):
        # Read under the lock: the push before this one moved the account's balance.
        source_account = _account_with_feed(connection, account_id)
        errors = list(checked.errors)
        if data.get("accountId") != account_id:
            errors.insert(0, rule_item("accountId", ACCOUNT_MISMATCH.format(body=data.get("accountId"),
                                                                            path=account_id), "AccountId"))
        if not connection.is_linked:
            errors.insert(0, rule_item(None, CONNECTION_NOT_LINKED.format(status=connection.status), "Connection"))
        if source_account is None:
            errors.insert(0, rule_item(account_id, ACCOUNT_UNKNOWN.format(id=account_id), "SourceAccount"))
        elif source_account.status != SourceAccountStatus.CONNECTED:
            message = ACCOUNT_NOT_CONNECTED.format(id=account_id, status=source_account.status)
            errors.insert(0, rule_item(account_id, message, "SourceAccount"))
        if errors:
            raise PushRefused(_record_failed(
                company=company, connection=connection, source_account=source_account, account_id=account_id,
                errors=errors, warnings=checked.warnings, message=errors[0]["message"], status_code=400))
        return _push_locked(company, connection, source_account, checked, timeout_in_minutes)


def _account_with_feed(connection, account_id):
    """The source account, with its connected feed's Xero id as `xero_feed_connection_id`
    (None without one), in one query."""
    feeds = FeedConnection.objects.filter(source_account=OuterRef("pk"), status=FeedStatus.CONNECTED)
    return connection.source_accounts.filter(account_id=account_id).annotate(
        xero_feed_connection_id=Subquery(feeds.values("xero_feed_connection_id")[:1])).first()


def _push_locked(company, connection, source_account, checked, timeout_in_minutes):
    transactions = checked.transactions
    warnings = list(checked.warnings)
    ids = [t.id for t in transactions]
    delivered = delivered_ids(source_account, ids)
    common = {"company": company, "connection": connection, "source_account": source_account,
              "account_id": source_account.account_id}
    if delivered and len(delivered) == len(ids):
        return PushOperation.objects.create(
            **common, status=PushStatus.SUCCESS, status_code=200, completed_on=timezone.now(),
            validation={"errors": [], "warnings": [rule_item(None, ALL_DELIVERED, "AlreadyDelivered")]},
            timeout_in_minutes=timeout_in_minutes)
    if delivered:
        errors = [rule_item(i, ALREADY_DELIVERED.format(id=i), "AlreadyDelivered") for i in ids if i in delivered]
        raise PushRefused(_record_failed(**common, errors=errors, warnings=warnings, status_code=400,
                                         message=f"{len(errors)} transaction(s) in this batch were already delivered."))
    if source_account.xero_feed_connection_id is None:
        error = rule_item(source_account.account_id, ACCOUNT_NOT_CONNECTED.format(
            id=source_account.account_id, status="not connected to a Xero feed"), "SourceAccount")
        raise PushRefused(_record_failed(**common, errors=[error], status_code=400, message=error["message"]))

    statement = statements.build_statement(transactions,
                                           feed_connection_id=str(source_account.xero_feed_connection_id))
    last = source_account.last_end_balance
    if last is not None and statement.start_balance != last:
        warnings.append(rule_item(transactions[0].id, GAP_WARNING.format(start=statement.start_balance, last=last),
                              "BalanceGap"))

    with transaction.atomic():
        operation = PushOperation.objects.create(
            **common, status=PushStatus.PENDING, status_code=202, timeout_in_minutes=timeout_in_minutes,
            validation={"errors": [], "warnings": warnings}, transaction_count=len(transactions),
            statement_key=statement.idempotency_key, statement_start_date=statement.start_date,
            statement_end_date=statement.end_date, statement_start_balance=statement.start_balance,
            statement_end_balance=statement.end_balance)
        # Kept on the operation for the answer, so it is not read back from the database.
        operation._pushed = _store_transactions(operation, source_account, transactions)
    return _deliver(operation, connection, source_account, statement)


_DELIVERED_IDS_SQL = (
    "SELECT t.transaction_id FROM feeds_banktransaction t "
    "JOIN feeds_pushoperation o ON o.push_operation_key = t.push_operation_id "
    "WHERE t.source_account_id = %s AND t.transaction_id = ANY(%s) AND o.delivered"
)


def delivered_ids(source_account, ids: list[str]) -> set[str]:
    """Which of these transaction ids Xero already took on this account. On PostgreSQL
    the ids go as one array parameter: a thousand placeholders cost more to build and
    plan than the lookup itself."""
    delivered = BankTransaction.objects.filter(source_account=source_account, push_operation__delivered=True)
    if connections[delivered.db].vendor != "postgresql":
        return set(delivered.filter(transaction_id__in=ids).values_list("transaction_id", flat=True))
    with connections[delivered.db].cursor() as cursor:
        cursor.execute(_DELIVERED_IDS_SQL, [source_account.pk, ids])
        return {row[0] for row in cursor.fetchall()}


class PushedTransaction(NamedTuple):
    """A stored transaction as the answer shows it (the same attributes as BankTransaction)."""

    transaction_id: str
    date: datetime
    description: str | None
    counterparty: str | None
    reference: str | None
    reconciled: bool | None
    amount: Decimal
    balance: Decimal
    transaction_type: str | None


_COPY_FIELDS = ("push_operation", "source_account", "transaction_id", "date", "description", "counterparty",
                "reference", "reconciled", "amount", "balance", "transaction_type")


def _store_transactions(operation, source_account, transactions) -> list[PushedTransaction]:
    """Insert the batch's rows. On PostgreSQL one COPY: for 1000 rows
    it is several times faster than bulk_create, which prepares every field of every
    model instance in Python. Other databases (the SQLite demo) use bulk_create."""
    rows = [PushedTransaction(t.id, t.date.replace(tzinfo=UTC), t.description, t.counterparty, t.reference,
                              t.reconciled, t.amount, t.balance, t.transaction_type) for t in transactions]
    db = connections[BankTransaction.objects.db]
    if db.vendor != "postgresql":
        BankTransaction.objects.bulk_create([
            BankTransaction(push_operation=operation, source_account=source_account, **row._asdict()) for row in rows
        ])
        return rows
    meta = BankTransaction._meta
    columns = ", ".join(db.ops.quote_name(meta.get_field(name).column) for name in _COPY_FIELDS)
    sql = f"COPY {db.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with db.cursor() as cursor:
        # This commit need not wait for the disk (flushing a batch's WAL is most of its
        # cost): recording Xero's answer is a synchronous commit, which makes this one
        # durable too before the partner hears anything. Lost in a database crash before
        # that, it is a push the partner saw fail, and its resend carries the same
        # Idempotency-Key, so Xero never takes it twice.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        with db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row((operation.pk, source_account.pk, *row))
    return rows


def _deliver(operation, connection, source_account, statement):
    """Post the statement and record Xero's answer on the operation."""
    try:
        response = xero_call(connection, client.create_statement, statement_json=statement.json,
                             idempotency_key=statement.idempotency_key)
    except ConnectionNotLinked as exc:
        _fail(operation, 400, str(exc), [rule_item(None, str(exc), "Connection")])
        raise PushRefused(operation)
    except client.XeroRateLimited as exc:
        _fail(operation, 429, f"Xero's rate limit was reached ({exc.problem_kind or 'minute'}); nothing was sent. "
                              f"Retry after {exc.retry_after} seconds.", [])
        raise PushInterrupted(operation, status=429, retry_after=exc.retry_after)
    except client.XeroUnavailable as exc:
        operation.maybe_delivered = exc.maybe_delivered
        _fail(operation, exc.status or 503, MAYBE_DELIVERED.format(reason=exc), [])
        raise PushInterrupted(operation, status=503)
    except client.XeroRejected as exc:
        _fail(operation, exc.status or 400, _problem_text(exc.problem), [_problem_item(exc.problem)])
        return operation

    return _record_answer(operation, source_account, response)


def _problem_text(problem):
    return problem.get("detail") or problem.get("title") or "Xero refused the statement."


def _problem_item(problem, item_id=None):
    return {"itemId": item_id, "message": _problem_text(problem), "validatorName": problem.get("type") or "Xero"}


def _fail(operation, status_code, message, errors):
    operation.status = PushStatus.FAILED
    operation.status_code = status_code
    operation.error_message = message
    operation.validation = {**operation.validation, "errors": errors}
    operation.completed_on = timezone.now()
    operation.save()


def _record_answer(operation, source_account, response: client.XeroResponse):
    item = ((response.data or {}).get("items") or [{}])[0]
    item_errors = item.get("errors") or []
    if response.status == 409 or any(e.get("type") == "duplicate-statement" for e in item_errors):
        # The same statement sent before without an answer (this operation retried, or an
        # earlier one resent) is the statement Xero already has: delivered, not doubled.
        resent = operation.maybe_delivered or PushOperation.objects.filter(
            source_account=source_account, statement_key=operation.statement_key, maybe_delivered=True
        ).exclude(pk=operation.pk).exists()
        if resent:
            operation.validation["warnings"].append(rule_item(None, DUPLICATE_OF_RESEND, "DuplicateStatement"))
            return _taken(operation, item.get("id"))
        _fail(operation, 409, _problem_text(item_errors[0]) if item_errors else "Xero marked the statement duplicate.",
              [_problem_item(e) for e in item_errors])
        return operation
    if response.status >= 300 or item.get("status") == "REJECTED":
        _fail(operation, response.status if response.status >= 300 else 400,
              _problem_text(item_errors[0]) if item_errors else "Xero rejected the statement.",
              [_problem_item(e) for e in item_errors])
        return operation
    status = PushStatus.SUCCESS if item.get("status") == "DELIVERED" else PushStatus.PENDING
    return _taken(operation, item.get("id"), status)


def _taken(operation, statement_id, status=PushStatus.SUCCESS):
    """Xero has taken the statement: its transactions are delivered (a resend of them is
    recognised) and the account's last balance is the statement's end balance."""
    with transaction.atomic():
        operation.status = status
        operation.status_code = 200 if status == PushStatus.SUCCESS else 202
        operation.completed_on = timezone.now() if status == PushStatus.SUCCESS else None
        operation.xero_statement_id = statement_id or operation.xero_statement_id
        operation.delivered = True
        operation.save(update_fields=["status", "status_code", "completed_on", "xero_statement_id", "validation",
                                      "delivered"])
        # A retried push taken late must not move the account back behind later ones.
        SourceAccount.objects.filter(
            Q(last_end_date__isnull=True) | Q(last_end_date__lte=operation.statement_end_date),
            pk=operation.source_account_id,
        ).update(
            balance=operation.statement_end_balance, last_end_balance=operation.statement_end_balance,
            last_end_date=operation.statement_end_date, last_pushed_at=timezone.now())
    return operation


def statement_status_refresh(*, operation: PushOperation) -> PushOperation:
    """Ask Xero about a Pending operation's statement and record what it says."""
    if operation.status != PushStatus.PENDING or not operation.xero_statement_id:
        return operation
    try:
        statement = xero_call(operation.connection, client.get_statement,
                              statement_id=str(operation.xero_statement_id))
    except (client.XeroError, ConnectionNotLinked) as exc:
        logger.info("Statement %s of push %s not checked: %s", operation.xero_statement_id, operation.pk, exc)
        return operation
    status = statement.get("status")
    if status == "DELIVERED" and not operation.delivered:
        # Pending from before delivery was recorded when Xero takes a statement.
        return _taken(operation, operation.xero_statement_id)
    if status == "DELIVERED":
        operation.status = PushStatus.SUCCESS
        operation.status_code = 200
        operation.completed_on = timezone.now()
        operation.save(update_fields=["status", "status_code", "completed_on"])
    elif status == "REJECTED":
        errors = statement.get("errors") or []
        with transaction.atomic():
            # Xero did not keep it after all: the transactions may be sent again, and the
            # account goes back to where the statement started (unless a later one moved it).
            operation.delivered = False
            _fail(operation, 400, _problem_text(errors[0]) if errors else "Xero rejected the statement.",
                  [_problem_item(e) for e in errors])
            SourceAccount.objects.filter(
                pk=operation.source_account_id, last_end_balance=operation.statement_end_balance,
                last_end_date=operation.statement_end_date,
            ).update(balance=operation.statement_start_balance, last_end_balance=operation.statement_start_balance)
    return operation


class PushRetryRefused(Exception):
    pass


def push_retry(*, operation: PushOperation) -> PushOperation:
    """Send a failed push's statement again (staff, from admin). The statement is rebuilt
    from the stored transactions, so it carries the same Idempotency-Key and Xero never
    takes it twice; the operation itself records the new outcome."""
    if operation.status != PushStatus.FAILED:
        raise PushRetryRefused(RETRY_NOT_FAILED.format(status=operation.status))
    if not operation.statement_key or operation.source_account_id is None:
        raise PushRetryRefused(RETRY_NOTHING_STORED)
    account_id = operation.source_account.account_id
    with account_lock(operation.connection_id, account_id):
        source_account = _account_with_feed(operation.connection, account_id)
        stored = list(operation.transactions.order_by("pk"))
        delivered = delivered_ids(source_account, [t.transaction_id for t in stored])
        if delivered:
            raise PushRetryRefused(RETRY_DELIVERED_SINCE.format(ids=", ".join(sorted(delivered)[:5])))
        if source_account.xero_feed_connection_id is None:
            raise PushRetryRefused(ACCOUNT_NOT_CONNECTED.format(id=account_id, status=source_account.status))
        statement = statements.build_statement([
            statements.Transaction(id=t.transaction_id, date=t.date.replace(tzinfo=None), amount=t.amount,
                                   balance=t.balance, description=t.description, counterparty=t.counterparty,
                                   reference=t.reference, reconciled=t.reconciled, transaction_type=t.transaction_type)
            for t in stored
        ], feed_connection_id=str(source_account.xero_feed_connection_id))
        operation.status = PushStatus.PENDING
        operation.status_code = 202
        operation.error_message = None
        operation.completed_on = None
        operation.validation = {**operation.validation, "errors": []}
        operation.save()
        return _deliver(operation, operation.connection, source_account, statement)
