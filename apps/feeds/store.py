"""Where a push's transactions are kept: the operation and its batch stored together (one
round trip), which of a batch's ids Xero already took on the account, and the pruning of
delivered lines once they are past any use."""

from datetime import UTC, datetime, timedelta
from functools import cache

import orjson
from django.db import connections, transaction
from django.db.models import Q

from apps.core import exact_json, rows

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
# formatted each value in Python: 6), and the whole store is one statement string, one
# round trip (the COPY took three: its start, its data, its end). PostgreSQL's side costs
# about the same as the COPY's. The dates go without an offset, read in the time zone set
# below; the amounts as the exact numbers they are (exact_json), read as numeric.
_LINES_SELECT = ("SELECT %s, %s, e->>0, (e->>1)::timestamptz, e->>2, e->>3, e->>4, (e->>5)::boolean, "
                 "(e->>6)::numeric, (e->>7)::numeric, e->>8 FROM jsonb_array_elements(%s::jsonb) e")


def lines_param(transactions: list[Transaction]) -> str:
    """The batch's lines as the JSON array _LINES_SELECT reads."""
    return exact_json.dumps([(t.id, t.date, t.description, t.counterparty, t.reference, t.reconciled, t.amount,
                              t.balance, t.transaction_type) for t in transactions]).decode()


@cache
def _lines_insert(using: str) -> str:
    db = connections[using]
    meta = BankTransaction._meta
    columns = ", ".join(db.ops.quote_name(meta.get_field(name).column) for name in _LINE_FIELDS)
    return f"INSERT INTO {db.ops.quote_name(meta.db_table)} ({columns}) {_LINES_SELECT}"  # noqa: S608


def store_batch(operation, source_account, transactions: list[Transaction]) -> list[Transaction]:
    """Insert the new operation (unsaved) and its batch's rows, in one database
    transaction, and return the batch, which the answer shows as stored. On PostgreSQL the
    operation and its lines go in one round trip (_LINES_SELECT), with the BEGIN and COMMIT
    when no transaction is open (a push, in production); bulk_create, which prepares
    every field of every model instance in Python, took several times as long for 1000
    rows. Other databases (the SQLite demo) use bulk_create."""
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
        return transactions
    lines_sql = _lines_insert(db.alias)
    lines_params = [str(operation.pk), source_account.pk, lines_param(transactions)]
    if db.in_atomic_block or not db.get_autocommit():
        with transaction.atomic(using=db.alias):
            rows.insert(operation, before=_BATCH_SETTINGS, then=(lines_sql, lines_params))
        return transactions
    # Outside any transaction (a push, in production), BEGIN and COMMIT travel with the
    # INSERTs (psycopg sends the BEGIN of Django's atomic() as a round trip of its own).
    try:
        rows.insert(operation, before="BEGIN; " + _BATCH_SETTINGS, then=(lines_sql + "; COMMIT", lines_params))
    except BaseException:
        _roll_back(db)
        raise
    return transactions


# This commit need not wait for the disk (flushing a batch's WAL is most of its cost):
# recording Xero's answer is a synchronous commit, which makes this one durable too before
# the partner hears anything. Lost in a database crash before that, it is a push the
# partner saw fail, and its resend carries the same Idempotency-Key, so Xero never takes it
# twice. The dates are local date-times stored as UTC (as the ORM stores them made aware):
# read without an offset, in the time zone set here. Sent with the INSERT: one round trip.
_BATCH_SETTINGS = "SET LOCAL synchronous_commit TO OFF; SET LOCAL TIME ZONE 'UTC'; "


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
