"""Bank Feeds API 1.0: FeedConnections and Statements, as strict as Xero documents.

Choices where Xero is silent (stricter, or simplest faithful):
- New feed connections answer ``status: PENDING``; they are connected at once, and read
  back without a ``status`` (the spec's FeedConnection status enum only has PENDING and
  REJECTED). GET FeedConnections answers 200 (the live API does; the spec says 202).
- POST FeedConnections processes every item; if any is rejected the answer is 400 with
  all items (accepted ones PENDING with their id, rejected ones REJECTED with ``error``).
  An accountToken is unique per app across organisations: live in this organisation ->
  ``feed-already-connected-in-current-organisation``; in another one ->
  ``feed-already-connected-in-different-organisation``. A bank account already fed by
  another token is rejected the first way too. These feed rules are in ``feed_rules``.
- POST Statements is all-or-nothing for validation (400/403/422 problem, nothing stored);
  duplicates are judged per statement: duplicates are stored REJECTED, the others are
  delivered, and the answer is 409 listing all of them. The fields are parsed by
  ``bankfeeds_fields``; the statement rules and what makes a duplicate are in
  ``statement_rules``.
- ``Idempotency-Key`` (max 128 chars), per app and tenant: the same key with the same
  method, path and body replays the stored answer; with a different request it is
  refused with 400 ``invalid-request``. 5xx answers are not stored.
- Paging: page is 1-based (not a number or < 1 -> 1); pageSize defaults to 10, at most
  100; ``itemCount`` is the number of items on the page (as in the spec's example).
- Unknown ids answer 404 (``bank-feed-not-found`` / ``statement-not-found``).
"""

import contextlib
import datetime
import json
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from . import bankfeeds_fields as fields
from . import feed_rules, statement_rules
from .gateway import CallContext, xero_api
from .models import BankAccount, FeedConnection, IdempotentResponse, Statement, StatementLine, sha256_hex
from .problems import Problem, error_item, json_response, problem

MAX_PAGE_SIZE = 100


def _json_body(ctx: CallContext):
    # Numbers as Xero reads its decimal(19,4) amounts: every digit sent, not a float's 15 to 17.
    try:
        return json.loads(ctx.body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, ArithmeticError):
        raise fields.invalid("The request body is not valid JSON.")


def _paging(request) -> tuple[int, int]:
    def number(name, default):
        try:
            value = int(request.GET.get(name, default))
        except ValueError:
            return default
        return value if value >= 1 else default

    return number("page", 1), min(number("pageSize", 10), MAX_PAGE_SIZE)


def _page(queryset, request, render) -> dict:
    page, size = _paging(request)
    total = queryset.count()
    rows = [render(row) for row in queryset[(page - 1) * size : page * size]]
    return {
        "pagination": {"page": page, "pageSize": size, "pageCount": max(1, -(-total // size)), "itemCount": len(rows)},
        "items": rows,
    }


def _idempotent(request, ctx: CallContext, handler) -> HttpResponse:
    """Run handler once per Idempotency-Key; replay the stored answer afterwards."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not key or len(key) > 128:
        return problem("invalid-request", "The Idempotency-Key header must be 1 to 128 characters.", 400)
    digest = sha256_hex(ctx.body)
    lookup = {"app": ctx.app, "organisation": ctx.organisation, "key": key}
    stored = IdempotentResponse.objects.filter(**lookup).first()
    if stored is None:
        response = handler()
        if response.status_code >= 500:
            return response
        try:
            # Outside a transaction the lone INSERT is atomic by itself (no BEGIN/COMMIT
            # round trips); inside one, a savepoint keeps a duplicate key from spoiling it.
            with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
                IdempotentResponse.objects.create(
                    **lookup,
                    method=request.method,
                    path=request.path,
                    body_sha256=digest,
                    status=response.status_code,
                    content_type=response["Content-Type"],
                    body=response.content.decode(),
                )
            return response
        except IntegrityError:
            stored = IdempotentResponse.objects.get(**lookup)
    if (stored.method, stored.path, stored.body_sha256) != (request.method, request.path, digest):
        return problem("invalid-request", "The Idempotency-Key was already used for a different request.", 400)
    return HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)


def _handled(fn):
    """Turn a raised Problem into its response."""
    try:
        return fn()
    except Problem as exc:
        return exc.response()


# ---- Feed connections -------------------------------------------------------------------


def _feed_json(fc: FeedConnection) -> dict:
    body = {
        "id": str(fc.id),
        "accountToken": fc.account_token,
        "accountType": fc.account_type,
        "accountNumber": fc.account_number or None,
        "accountName": fc.account_name or None,
        "accountId": str(fc.bank_account.account_id),
        "currency": fc.currency,
        "country": fc.country or None,
    }
    return {k: v for k, v in body.items() if v is not None}


@xero_api(api="bankfeeds")
def feed_connections(request, ctx: CallContext):
    """GET (paged list) and POST (create) FeedConnections."""
    if request.method == "GET":
        rows = FeedConnection.objects.filter(
            app=ctx.app, organisation=ctx.organisation, deleted_at__isnull=True
        ).select_related("bank_account")
        return json_response(_page(rows, request, _feed_json), 200)
    if request.method != "POST":
        return HttpResponse(status=405)
    return _idempotent(request, ctx, lambda: _handled(lambda: _create_feed_connections(ctx)))


@transaction.atomic
def _create_feed_connections(ctx: CallContext) -> HttpResponse:
    items = fields.items_of(_json_body(ctx))
    answers, rejected, seen = [], False, set()
    for item in items:
        try:
            checked = feed_rules.check_feed_item(item, ctx.app, ctx.organisation, seen)
        except feed_rules.FeedRejected as exc:
            rejected = True
            token = item.get("accountToken") if isinstance(item, dict) else None
            answers.append(
                {
                    **({"accountToken": token} if isinstance(token, str) else {}),
                    "status": "REJECTED",
                    "error": exc.error,
                }
            )
            continue
        seen.add(checked["token"])
        account = checked["account"] or BankAccount.objects.create(
            organisation=ctx.organisation,
            name=checked["name"],
            account_number=checked["number"],
            bank_account_type=checked["kind"],
            currency=checked["currency"],
        )
        fc = FeedConnection.objects.create(
            app=ctx.app,
            organisation=ctx.organisation,
            bank_account=account,
            account_token=checked["token"],
            account_number=checked["number"] or account.account_number,
            account_name=checked["name"] or account.name[:30],
            account_type=checked["kind"],
            currency=checked["currency"],
            country=checked["country"],
            status=FeedConnection.CONNECTED,
        )
        answers.append({"id": str(fc.id), "accountToken": fc.account_token, "status": "PENDING"})
    return json_response({"items": answers}, 400 if rejected else 202)


@xero_api(api="bankfeeds")
def feed_connection_detail(request, ctx: CallContext, feed_id):
    """GET FeedConnections/{id}."""
    if request.method != "GET":
        return HttpResponse(status=405)
    fid = fields.guid(feed_id)
    if fid is None:
        return problem("invalid-request", "The id must be a GUID.", 400)
    fc = (
        FeedConnection.objects.filter(pk=fid, app=ctx.app, organisation=ctx.organisation, deleted_at__isnull=True)
        .select_related("bank_account")
        .first()
    )
    if fc is None:
        return problem("bank-feed-not-found", "The feed connection was not found.", 404)
    return json_response(_feed_json(fc))


@xero_api(api="bankfeeds")
def delete_requests(request, ctx: CallContext):
    """POST FeedConnections/DeleteRequests: disconnect feeds; the Xero accounts stay."""
    if request.method != "POST":
        return HttpResponse(status=405)
    return _idempotent(request, ctx, lambda: _handled(lambda: _delete_feeds(ctx)))


@transaction.atomic
def _delete_feeds(ctx: CallContext) -> HttpResponse:
    items = fields.items_of(_json_body(ctx))
    answers = []
    for item in items:
        fid = fields.guid(item.get("id")) if isinstance(item, dict) else None
        if fid is None:
            raise fields.invalid("Each item requires an 'id' GUID.")
        updated = FeedConnection.objects.filter(
            pk=fid, app=ctx.app, organisation=ctx.organisation, deleted_at__isnull=True
        ).update(deleted_at=timezone.now(), status=FeedConnection.DELETED)
        if updated:
            answers.append({"id": str(fid), "status": "PENDING"})
        else:
            answers.append(
                {
                    "id": str(fid),
                    "status": "REJECTED",
                    "error": error_item(
                        "feed-not-found-or-already-deleted",
                        "The feed connection was not found or already deleted.",
                        400,
                    ),
                }
            )
    return json_response({"items": answers}, 202)


# ---- Statements -------------------------------------------------------------------------


def _balance_json(value: Decimal, ind: str) -> dict:
    return {"amount": value, "creditDebitIndicator": ind}


def _statement_json(st: Statement, lines: bool = False) -> dict:
    body = {
        "id": str(st.id),
        "feedConnectionId": str(st.feed_connection_id),
        "status": st.status,
        "startDate": st.start_date.isoformat(),
        "endDate": st.end_date.isoformat(),
        "startBalance": _balance_json(st.start_balance, st.start_indicator),
        "endBalance": _balance_json(st.end_balance, st.end_indicator),
        "statementLineCount": st.line_count,
    }
    if st.errors:
        body["errors"] = st.errors
    if lines:
        # Plain rows, not model instances: a statement holds up to 1000 lines.
        rows = st.lines.order_by("position").values_list(*_LineRow._fields)
        body["statementLines"] = [_line_json(_LineRow._make(row)) for row in rows]
    return body


class _LineRow(NamedTuple):
    """The StatementLine fields a line's JSON shows."""

    posted_date: datetime.date
    description: str
    amount: Decimal
    credit_debit_indicator: str
    transaction_id: str | None
    payee_name: str
    reference: str
    cheque_number: str
    transaction_type: str


def _line_json(line: StatementLine | _LineRow) -> dict:
    body = {
        "postedDate": line.posted_date.isoformat(),
        "description": line.description,
        "amount": line.amount,
        "creditDebitIndicator": line.credit_debit_indicator,
        "transactionId": line.transaction_id,
        "payeeName": line.payee_name,
        "reference": line.reference,
        "chequeNumber": line.cheque_number,
        "transactionType": line.transaction_type,
    }
    return {k: v for k, v in body.items() if v not in (None, "")}


@xero_api(api="bankfeeds", statements=True)
def statements(request, ctx: CallContext):
    """GET (paged list) and POST (deliver) Statements."""
    if request.method == "GET":
        rows = Statement.objects.filter(
            feed_connection__app=ctx.app, feed_connection__organisation=ctx.organisation
        ).order_by("-created_at", "id")
        return json_response(_page(rows, request, _statement_json), 200)
    if request.method != "POST":
        return HttpResponse(status=405)
    return _idempotent(request, ctx, lambda: _handled(lambda: _create_statements(ctx)))


@xero_api(api="bankfeeds", statements=True)
def statement_detail(request, ctx: CallContext, statement_id):
    """GET Statements/{statementId} with its lines."""
    if request.method != "GET":
        return HttpResponse(status=405)
    sid = fields.guid(statement_id)
    if sid is None:
        return problem("invalid-request", "The statementId must be a GUID.", 400)
    st = Statement.objects.filter(
        pk=sid, feed_connection__app=ctx.app, feed_connection__organisation=ctx.organisation
    ).first()
    if st is None:
        return problem("statement-not-found", "The statement was not found.", 404)
    return json_response(_statement_json(st, lines=True))


@transaction.atomic
def _create_statements(ctx: CallContext) -> HttpResponse:
    parsed = [fields.parse_statement(raw, i) for i, raw in enumerate(fields.items_of(_json_body(ctx)))]
    feeds = statement_rules.live_feed_connections(ctx.app, {st["fid"] for st in parsed})
    for st in parsed:
        statement_rules.check_statement(st, feeds.get(st["fid"]), ctx.organisation)
        st["fingerprint"] = statement_rules.fingerprint(st)
    duplicates = statement_rules.duplicates(parsed)

    now = timezone.now()
    rows, lines, answers = [], [], []
    for st, duplicate in zip(parsed, duplicates, strict=True):
        fid = st["fid"]
        statement = Statement(
            feed_connection_id=fid,
            status=Statement.REJECTED if duplicate else Statement.DELIVERED,
            start_date=st["start"],
            end_date=st["end"],
            start_balance=st["start_balance"][0],
            start_indicator=st["start_balance"][1],
            end_balance=st["end_balance"][0],
            end_indicator=st["end_balance"][1],
            line_count=len(st["lines"]),
            fingerprint=st["fingerprint"],
            errors=[statement_rules.DUPLICATE] if duplicate else [],
            created_at=now,
        )
        rows.append(statement)
        if duplicate:
            answers.append(
                {
                    "id": str(statement.id),
                    "feedConnectionId": str(fid),
                    "status": "REJECTED",
                    "errors": [statement_rules.DUPLICATE],
                }
            )
            continue
        lines.extend(
            StatementLine(statement=statement, feed_connection_id=fid, position=i, **line)
            for i, line in enumerate(st["lines"])
        )
        answers.append({"id": str(statement.id), "feedConnectionId": str(fid), "status": "PENDING"})
    Statement.objects.bulk_create(rows)
    StatementLine.objects.bulk_create(lines, batch_size=1000)
    if any(duplicates):
        return json_response({"items": answers}, 409, "application/problem+json")
    return json_response({"items": answers}, 202)
