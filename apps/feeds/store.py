"""Where a push's transactions are kept: the operation and its batch stored together (sent
at once, and written while Xero reads the statement), which of a batch's ids Xero already
took on the account, and the pruning of delivered lines once they are past any use."""

import select
import time
from datetime import UTC, datetime, timedelta
from functools import cache

import orjson
from django.db import DatabaseError, connections, transaction
from django.db.models import Q
from psycopg import errors as psycopg_errors
from psycopg import pq

from apps.core import rows

from .models import BankTransaction, PushOperation, PushStatus
from .statements import Transaction

# One probe of the (source_account, transaction_id) index per id, however many lines the
# account holds. Written as a lateral LIMIT so that the planner cannot choose to read all
# of the account's lines and filter them (it does for accounts of tens of thousands of
# lines, reckoning a thousand probes dearer: 4 ms at 30,000 lines and growing, against
# 2 ms for the probes). `ids` and `account` name the two parameters; the ids go as one JSON
# array (ids_param): psycopg quotes a Python list of a thousand strings element by element
# in Python (1.8 ms of CPU), orjson writes the same as JSON in 0.05.
DELIVERED_AMONG_SQL = (
    "SELECT u.id FROM jsonb_array_elements_text({ids}::jsonb) u(id) CROSS JOIN LATERAL (SELECT 1 "
    "FROM feeds_banktransaction t WHERE t.source_account_id = {account} AND t.transaction_id = u.id AND EXISTS "
    "(SELECT 1 FROM feeds_pushoperation o WHERE o.push_operation_key = t.push_operation_id AND o.delivered) LIMIT 1) d"
)


def ids_param(ids: list[str]) -> str:
    """The `ids` parameter of DELIVERED_AMONG_SQL."""
    return orjson.dumps(ids).decode()


def delivered_ids(source_account, ids: list[str]) -> set[str]:
    """Which of these transaction ids Xero already took on this account. On PostgreSQL
    the ids go as one parameter: a thousand placeholders cost more to build and plan than
    the lookup itself. (A push reads them with its account: push.py.)"""
    delivered = BankTransaction.objects.filter(source_account=source_account, push_operation__delivered=True)
    if connections[delivered.db].vendor != "postgresql":
        return set(delivered.filter(transaction_id__in=ids).values_list("transaction_id", flat=True))
    with connections[delivered.db].cursor() as cursor:
        cursor.execute(DELIVERED_AMONG_SQL.format(ids="%s", account="%s"), [ids_param(ids), source_account.pk])
        return {row[0] for row in cursor.fetchall()}


_LINE_FIELDS = ("push_operation", "source_account", "transaction_id", "date", "description", "counterparty",
                "reference", "reconciled", "amount", "balance", "transaction_type")
# The batch's lines read out of one JSON array of arrays, in the INSERT that follows the
# operation's: orjson writes the array in C (2 ms for 1000 lines, where psycopg's COPY
# formatted each value in Python: 6), and the whole store goes in one flight with the
# operation's INSERT (store_batch; the COPY waited three times: its start, its data, its
# end). PostgreSQL's side costs about the same as the COPY's. The dates go without an
# offset, read in the time zone set below; the amounts as their exact text (a Decimal's
# str, without orjson calling back into Python for each one), read as numeric.
_LINES_SELECT = ("SELECT %s, %s, e->>0, (e->>1)::timestamptz, e->>2, e->>3, e->>4, (e->>5)::boolean, "
                 "(e->>6)::numeric, (e->>7)::numeric, e->>8 FROM jsonb_array_elements(%s::jsonb) e")


def lines_param(transactions: list[Transaction]) -> str:
    """The batch's lines as the JSON array _LINES_SELECT reads."""
    return orjson.dumps([(t.id, t.date, t.description, t.counterparty, t.reference, t.reconciled, str(t.amount),
                          str(t.balance), t.transaction_type) for t in transactions]).decode()


@cache
def _lines_insert(using: str) -> str:
    db = connections[using]
    meta = BankTransaction._meta
    columns = ", ".join(db.ops.quote_name(meta.get_field(name).column) for name in _LINE_FIELDS)
    return f"INSERT INTO {db.ops.quote_name(meta.db_table)} ({columns}) {_LINES_SELECT}"  # noqa: S608


class BatchNotStored(Exception):
    """The database refused the batch after its statement was posted to Xero meanwhile
    (store_batch): Xero may have the statement, and nothing records it."""


def store_batch(operation, source_account, transactions: list[Transaction], *, meanwhile=None):
    """Insert the new operation (unsaved) and its batch's rows in one database transaction,
    and return what `meanwhile()` returns (None without it): a push posts its statement to
    Xero meanwhile, so that it waits for the longer of the two, not for both.

    On PostgreSQL the statements go at once, every byte of them handed to the socket before
    `meanwhile` starts (nothing reaches Xero that PostgreSQL was not given whole, and
    PostgreSQL commits it whatever becomes of this process), and their results are read
    after it; BEGIN and COMMIT go with them when no transaction is open (a push, in
    production). bulk_create, which prepares every field of every model instance in
    Python, took several times as long for 1000 rows. A refusal by the database raises its
    error, or BatchNotStored once `meanwhile` ran; an error of `meanwhile` is raised once
    the batch is known stored. Elsewhere (the SQLite demo) the batch is stored by
    bulk_create before `meanwhile`."""
    db = connections[BankTransaction.objects.db]
    if db.vendor != "postgresql":
        with transaction.atomic(using=db.alias):
            rows.insert(operation)
            BankTransaction.objects.bulk_create([
                BankTransaction(push_operation=operation, source_account=source_account, transaction_id=t.id,
                                date=t.date.replace(tzinfo=UTC), description=t.description,
                                counterparty=t.counterparty, reference=t.reference, reconciled=t.reconciled,
                                amount=t.amount, balance=t.balance, transaction_type=t.transaction_type)
                for t in transactions
            ])
        return meanwhile() if meanwhile else None
    batch = [(_BATCH_SETTINGS, None), rows.insert_statement(operation),
             (_lines_insert(db.alias), [str(operation.pk), source_account.pk, lines_param(transactions)])]
    own_transaction = rows.no_transaction_open(db)
    outcome = _Outcome(meanwhile)
    try:
        if own_transaction:
            _send_during(db, [("BEGIN", None), *batch, ("COMMIT", None)], outcome.run)
        else:
            with transaction.atomic(using=db.alias):  # a savepoint: a refusal undoes only the batch
                _send_during(db, batch, outcome.run)
    except BaseException as exc:
        if own_transaction:
            _roll_back(db)
        if isinstance(exc, DatabaseError) and outcome.ran and meanwhile:
            raise BatchNotStored(f"push {operation.pk}: {exc}") from exc
        raise
    rows.inserted(operation)
    return outcome.result()


class _Outcome:
    """What `meanwhile` returned or raised, kept until the batch's own outcome is known."""

    def __init__(self, meanwhile):
        self.meanwhile, self.ran, self.value, self.error = meanwhile, False, None, None

    def run(self) -> None:
        self.ran = True
        try:
            self.value = self.meanwhile() if self.meanwhile else None
        except Exception as exc:  # noqa: BLE001 - raised again once the batch is known stored
            self.error = exc

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


def _send_during(db, statements, meanwhile) -> None:
    """Send `statements` as one string (the simple query protocol runs several in turn),
    every byte handed to the socket, then run `meanwhile`, then read the statements'
    results, raising the database's error if one failed. Sent through libpq's connection,
    which psycopg exposes for what it does not wrap: its own execute waits for the results
    before it returns, and its pipeline mode takes one statement per command (about a
    millisecond of CPU more per push, measured under load)."""
    db.ensure_connection()
    with db.wrap_database_errors:
        query = db.ops.compose_sql("; ".join(sql for sql, _ in statements),
                                   [p for _, params in statements for p in params or ()])
        pgconn, encoding = db.connection.pgconn, db.connection.info.encoding
        started = time.monotonic()
        pgconn.send_query(query.encode(encoding))
        _flush(pgconn)
        try:
            meanwhile()
        finally:
            error = _results(pgconn, encoding)
        if db.queries_logged:  # as Django's debug cursor logs a statement (CaptureQueriesContext)
            db.queries_log.append({"sql": query, "time": f"{time.monotonic() - started:.3f}"})
        if error is not None:
            raise error


def _flush(pgconn) -> None:
    """Wait until libpq has handed every queued byte to the socket (a 1000-line batch is
    more than the socket takes at once)."""
    while pgconn.flush():
        readable, _, _ = select.select([pgconn.socket], [pgconn.socket], [])
        if readable:
            pgconn.consume_input()  # results arriving meanwhile must not stall the server


def _results(pgconn, encoding: str):
    """Read every result of the query sent; the first error among them, else None."""
    error = None
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return error
        if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
            error = psycopg_errors.error_from_result(result, encoding=encoding)
        result.clear()


# The batch's commit waits for the disk (a synchronous commit, the server's default) while
# Xero reads the statement, so that once Xero has answered, the operation and its lines
# are durable: recording the answer then need not wait for the disk
# (PushOperation.mark_taken). The dates are local date-times stored as UTC (as the ORM
# stores them made aware): read without an offset, in the time zone set here.
_BATCH_SETTINGS = "SET LOCAL TIME ZONE 'UTC'"


def _roll_back(db) -> None:
    """End the batch's transaction after a failure, if the connection still has one."""
    try:
        if db.connection is not None:
            db.connection.rollback()  # nothing to do (no round trip) when none is open
    except Exception:  # noqa: BLE001 - the connection is broken: Django closes it after the request
        db.errors_occurred = True


def stored_transactions(operation):
    """The operation's stored transactions, oldest first, as the push keeps them."""
    return list(operation.transactions.order_by("pk"))


# A delivered line is what recognises a resend of its transaction (delivered_ids). A push
# carries transactions dated within the last year and not after the day it was made, so
# once the push is more than a year (and a day, for time zones) old a resend of its
# transactions is refused by the date rule before the ids are looked up: only then may
# its lines go.
MIN_RETENTION = timedelta(days=367)
PRUNE_BATCH = 100  # pushes a statement: at most 100,000 lines, usually a few thousand


def prune_delivered_lines(*, older_than: timedelta, batch: int = PRUNE_BATCH) -> int:
    """Delete the stored transactions of pushes made more than `older_than` ago whose
    statement is final and delivered (Success), `batch` pushes at a time, oldest first,
    each DELETE its own short transaction. Lines of Pending, TimedOut or Failed pushes are
    kept (Xero may still answer; staff may retry). The pushes themselves stay, with their
    transaction count. Returns how many lines were deleted."""
    if older_than < MIN_RETENTION:
        raise ValueError(f"a retention below {MIN_RETENTION.days} days would forget ids a partner can still resend")
    before = datetime.now(UTC) - older_than
    final = PushOperation.objects.filter(status=PushStatus.SUCCESS, delivered=True, requested_on__lt=before)
    final = final.order_by("requested_on", "pk").values_list("requested_on", "pk")
    deleted, last = 0, None
    while True:
        after = final if last is None else final.filter(
            Q(requested_on__gt=last[0]) | Q(requested_on=last[0], pk__gt=last[1]))
        keys = list(after[:batch])
        if not keys:
            return deleted
        deleted += BankTransaction.objects.filter(push_operation_id__in=[key for _, key in keys]).delete()[0]
        last = keys[-1]
