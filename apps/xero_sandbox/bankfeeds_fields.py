"""Parsing of Bank Feeds request bodies: field types, required fields and the spec's
string limits (written as ``maximum:`` in Xero's YAML, enforced here as lengths). What
Xero then requires of a parsed statement as a whole is in ``statement_rules``.

Strict choices where Xero is silent: amounts may be JSON numbers or numeric strings (the
spec's examples send strings), must be non-negative with at most 4 decimals and fit
decimal(19,4); statement lines require postedDate, description, amount and
creditDebitIndicator; a statement holds at most 1000 lines (answered
``invalid-request``, since the spec's enum has no ``item-count-exceeded``).
"""

import datetime
import re
import uuid
from decimal import Decimal, InvalidOperation

from .problems import Problem

MAX_LINES = 1000
LINE_LIMITS = {
    "description": 2000,
    "payeeName": 255,
    "reference": 255,
    "chequeNumber": 20,
    "transactionType": 30,
    "transactionId": 255,
}
FEED_LIMITS = {"accountToken": 50, "accountNumber": 40, "accountName": 30}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INDICATORS = ("CREDIT", "DEBIT")
MAX_AMOUNT = Decimal("999999999999999.9999")


def invalid(detail: str) -> Problem:
    """An invalid-request problem (400)."""
    return Problem("invalid-request", detail, 400)


def guid(value) -> uuid.UUID | None:
    """A GUID field's value, or None when it is missing or not a GUID."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def items_of(data) -> list:
    """The non-empty `items` array of a request body."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not data["items"]:
        raise invalid("The request must contain a non-empty 'items' array.")
    return data["items"]


def text(obj: dict, field: str, label: str, limit: int, required: bool = False) -> str | None:
    """A string field with a length limit."""
    value = obj.get(field)
    if value is None or value == "":
        if required:
            raise invalid(f"The request field '{label}' is required.")
        return None
    if not isinstance(value, str):
        raise invalid(f"The request field '{label}' must be a string.")
    if len(value) > limit:
        raise invalid(f"For the request field '{label}' exceeded the maximum length of {limit}.")
    return value


def date(obj: dict, field: str, label: str) -> datetime.date:
    """A required YYYY-MM-DD date."""
    value = obj.get(field)
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise invalid(f"The request field '{label}' must be a date in the format YYYY-MM-DD.")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise invalid(f"The request field '{label}' is not a valid date.")


def amount(obj: dict, field: str, label: str) -> Decimal:
    """A required non-negative decimal(19,4) amount."""
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)) or value == "":
        raise invalid(f"The request field '{label}' is required and must be a number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"The request field '{label}' must be a number.")
    if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
        raise invalid(f"The request field '{label}' must be an unsigned decimal(19,4).")
    if number != number.quantize(Decimal("0.0001")):
        raise invalid(f"The request field '{label}' has more than 4 decimal places.")
    return number.quantize(Decimal("0.0001"))


def indicator(obj: dict, field: str, label: str) -> str:
    """A required CREDIT/DEBIT indicator."""
    value = obj.get(field)
    if value not in INDICATORS:
        raise invalid(f"The request field '{label}' must be CREDIT or DEBIT.")
    return value


def balance(obj: dict, field: str, label: str) -> tuple[Decimal, str]:
    """A required balance object."""
    value = obj.get(field)
    if not isinstance(value, dict):
        raise invalid(f"The request field '{label}' is required.")
    return amount(value, "amount", f"{label}.Amount"), indicator(
        value, "creditDebitIndicator", f"{label}.CreditDebitIndicator"
    )


def parse_statement(raw, index: int) -> dict:
    """One item of a POST Statements body as plain values: ``fid`` (the feed connection
    id), ``start``, ``end``, ``start_balance`` and ``end_balance`` ((amount, indicator)),
    and ``lines``, each a dict of StatementLine field names (empty strings for the
    optional text fields, None for a missing transactionId)."""
    if not isinstance(raw, dict):
        raise invalid(f"Statement {index} must be an object.")
    fid = guid(raw.get("feedConnectionId"))
    if fid is None:
        raise invalid("The request field 'FeedConnectionId' is required and must be a GUID.")
    start = date(raw, "startDate", "StartDate")
    end = date(raw, "endDate", "EndDate")
    start_balance = balance(raw, "startBalance", "StartBalance")
    end_balance = balance(raw, "endBalance", "EndBalance")
    raw_lines = raw.get("statementLines", [])
    if raw_lines is None:
        raw_lines = []
    if not isinstance(raw_lines, list):
        raise invalid("The request field 'StatementLines' must be an array.")
    if len(raw_lines) > MAX_LINES:
        raise invalid(f"A statement may hold at most {MAX_LINES} statement lines.")
    return {
        "fid": fid,
        "start": start,
        "end": end,
        "start_balance": start_balance,
        "end_balance": end_balance,
        "lines": [_parse_line(line) for line in raw_lines],
    }


def _parse_line(line) -> dict:
    if not isinstance(line, dict):
        raise invalid("Each statement line must be an object.")
    return {
        "posted_date": date(line, "postedDate", "StatementLine.PostedDate"),
        "description": text(line, "description", "StatementLine.Description", LINE_LIMITS["description"], True),
        "amount": amount(line, "amount", "StatementLine.Amount"),
        "credit_debit_indicator": indicator(line, "creditDebitIndicator", "StatementLine.CreditDebitIndicator"),
        "transaction_id": text(line, "transactionId", "StatementLine.TransactionId", LINE_LIMITS["transactionId"]),
        "payee_name": text(line, "payeeName", "StatementLine.PayeeName", LINE_LIMITS["payeeName"]) or "",
        "reference": text(line, "reference", "StatementLine.Reference", LINE_LIMITS["reference"]) or "",
        "cheque_number": text(line, "chequeNumber", "StatementLine.ChequeNumber", LINE_LIMITS["chequeNumber"]) or "",
        "transaction_type": text(
            line, "transactionType", "StatementLine.TransactionType", LINE_LIMITS["transactionType"]
        )
        or "",
    }
