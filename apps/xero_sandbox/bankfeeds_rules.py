"""Validation of Bank Feeds request bodies: field types, required fields and the spec's
string limits (written as ``maximum:`` in Xero's YAML, enforced here as lengths).

Strict choices where Xero is silent: amounts may be JSON numbers or numeric strings (the
spec's examples send strings), must be non-negative with at most 4 decimals and fit
decimal(19,4); statement lines require postedDate, description, amount and
creditDebitIndicator, and their postedDate must lie within the statement's dates; a
statement holds at most 1000 lines (answered ``invalid-request``, since the spec's enum
has no ``item-count-exceeded``).
"""

import datetime
import re
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
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or value == "":
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


def signed(value: Decimal, ind: str) -> Decimal:
    """Customer's view: CREDIT adds, DEBIT subtracts."""
    return value if ind == "CREDIT" else -value
