"""What Xero requires of a statement once its fields are parsed (``bankfeeds_fields``),
and how it tells a duplicate.

Checked per statement, in request order, the first failure answering for the whole
request (nothing is stored):
- the feed connection: a live one of this app (403 ``invalid-feed-connection``) in this
  organisation (403 ``invalid-feed-connection-for-organisation``);
- dates, judged in UTC: start not after end (``invalid-start-and-end-date``), start
  within the last year (``invalid-start-date``, see ``earliest_start_date``), end not in
  the future (``invalid-end-date``), all 422; each line's postedDate within the
  statement's dates (400 ``invalid-request``);
- balance arithmetic: start balance plus credits minus debits is the end balance (422
  ``invalid-end-balance``).

Duplicates are judged per statement afterwards (``duplicates``): a statement is a
duplicate when an earlier delivered statement on the same feed connection has the same
dates, balances and lines (the same ``fingerprint``), or when ANY of its lines'
transactionId was already delivered on that feed connection, before this request or by
an earlier statement of it. A duplicate is stored REJECTED with ``DUPLICATE`` as its
error; the others are delivered.
"""

import datetime
import hashlib
import json
import uuid
from decimal import Decimal

from django.utils import timezone

from .bankfeeds_fields import invalid
from .models import FeedConnection, Organisation, SandboxApp, Statement, StatementLine
from .problems import Problem, error_item

DUPLICATE = error_item("duplicate-statement", "The received statement was marked as a duplicate.", 409)


def earliest_start_date(today: datetime.date) -> datetime.date:
    """The oldest start date Xero accepts: the same day a year before `today` (the 28th
    when `today` is 29 February)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def signed(value: Decimal, indicator: str) -> Decimal:
    """An amount from the customer's view: CREDIT adds, DEBIT subtracts."""
    return value if indicator == "CREDIT" else -value


def live_feed_connections(app: SandboxApp, fids: set[uuid.UUID]) -> dict[uuid.UUID, FeedConnection]:
    """The app's feed connections (not deleted) among `fids`, by id, in one query."""
    return {fc.id: fc for fc in FeedConnection.objects.filter(id__in=fids, app=app, deleted_at__isnull=True)}


def check_statement(
    st: dict, feed: FeedConnection | None, organisation: Organisation, today: datetime.date | None = None
) -> None:
    """Raise the Problem Xero answers for a parsed statement (see the module docstring);
    `feed` is its live feed connection of the calling app, or None."""
    if feed is None:
        raise Problem("invalid-feed-connection", "The feed connection is not valid for this application.", 403)
    if feed.organisation_id != organisation.pk:
        raise Problem(
            "invalid-feed-connection-for-organisation", "The feed connection belongs to a different organisation.", 403
        )
    today = today or timezone.now().date()
    if st["start"] > st["end"]:
        raise Problem("invalid-start-and-end-date", "The start date is after the end date.", 422)
    if st["start"] < earliest_start_date(today):
        raise Problem("invalid-start-date", "The start date is more than one year in the past.", 422)
    if st["end"] > today:
        raise Problem("invalid-end-date", "The end date is in the future.", 422)
    total = signed(*st["start_balance"])
    for line in st["lines"]:
        if not st["start"] <= line["posted_date"] <= st["end"]:
            raise invalid("A statement line's PostedDate is outside the statement's dates.")
        total += signed(line["amount"], line["credit_debit_indicator"])
    if total != signed(*st["end_balance"]):
        raise Problem(
            "invalid-end-balance", "End balance does not match start balance +/- statement line amounts.", 422
        )


def fingerprint(st: dict) -> str:
    """sha256 of the statement's feed connection, dates, balances and lines: equal for
    statements Xero would call the same. Stored with each statement, so it must not
    change for statements already delivered."""
    canonical = json.dumps(
        [
            str(st["fid"]),
            str(st["start"]),
            str(st["end"]),
            [str(v) for v in st["start_balance"]],
            [str(v) for v in st["end_balance"]],
            [[str(line[k]) for k in sorted(line)] for line in st["lines"]],
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def duplicates(statements: list[dict]) -> list[bool]:
    """For each checked statement of one request, in order, whether it is a duplicate
    (see the module docstring); each must carry its ``fingerprint``. Two or three
    queries, whatever the number of statements and lines."""
    fids = {st["fid"] for st in statements}
    known_prints = _delivered_fingerprints(fids, {st["fingerprint"] for st in statements})
    txn_ids = {line["transaction_id"] for st in statements for line in st["lines"] if line["transaction_id"]}
    known_txns = _delivered_transaction_ids(fids, txn_ids) if txn_ids else set()
    flags = []
    for st in statements:
        fid = st["fid"]
        mine = {(fid, line["transaction_id"]) for line in st["lines"] if line["transaction_id"]}
        duplicate = (fid, st["fingerprint"]) in known_prints or bool(mine & known_txns)
        if not duplicate:
            # Delivered now: a later statement of the same request is judged against it.
            known_prints.add((fid, st["fingerprint"]))
            known_txns |= mine
        flags.append(duplicate)
    return flags


def _delivered_fingerprints(fids: set[uuid.UUID], prints: set[str]) -> set[tuple[uuid.UUID, str]]:
    """(feed connection id, fingerprint) of the delivered statements among `prints`."""
    return set(
        Statement.objects.filter(feed_connection_id__in=fids, status=Statement.DELIVERED, fingerprint__in=prints)
        .order_by()
        .values_list("feed_connection_id", "fingerprint")
    )


def _delivered_transaction_ids(fids: set[uuid.UUID], txn_ids: set[str]) -> set[tuple[uuid.UUID, str]]:
    """(feed connection id, transaction id) of the delivered lines among `txn_ids`."""
    # The lines first, through the (feed connection, transaction id) index, then their
    # statements' status. As one join, PostgreSQL may walk every delivered statement of
    # the feed instead (it did while the tables had no statistics yet).
    found = list(
        StatementLine.objects.filter(feed_connection_id__in=fids, transaction_id__in=txn_ids)
        .order_by()
        .values_list("feed_connection_id", "transaction_id", "statement_id")
    )
    if not found:
        return set()
    delivered = set(
        Statement.objects.filter(id__in={sid for _, _, sid in found}, status=Statement.DELIVERED)
        .order_by()
        .values_list("id", flat=True)
    )
    return {(fid, txn) for fid, txn, sid in found if sid in delivered}
