"""From a partner's batch of bank transactions to one Xero statement: parsing, the
validation rules, and the statement itself. Pure functions, no database, no HTTP.

Rules (each failure names the transaction by its id as `itemId`):
- 1 to 1000 transactions; ids present, unique in the batch;
- dates parse as ISO 8601; they are local dates, so any offset is ignored (Codat's
  rule); chronological; not after today (UTC) and not more than a year old (Xero's);
- amount and balance present, numbers with at most 4 decimal places (Xero keeps 4);
- the last balance equals the first balance plus the later amounts, else Xero would
  refuse the statement's end balance. A running balance that breaks in between is a
  warning only: banks order same-day lines differently;
- an amount whose sign contradicts `transactionType` (Credit < 0, Debit > 0) is a warning.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.tenants.api_errors import validation_item

MAX_TRANSACTIONS = 1000
MAX_AGE = timedelta(days=365)
TRANSACTION_TYPES = {
    "Unknown", "Credit", "Debit", "Int", "Div", "Fee", "SerChg", "Dep", "Atm", "Pos", "Xfer", "Check", "Payment",
    "Cash", "DirectDep", "DirectDebit", "RepeatPmt", "Other",
}
# Xero's field limits (StatementLine in xero_bankfeeds.yaml).
LIMITS = {"description": 2000, "payeeName": 255, "reference": 255, "transactionType": 30}
FOUR_PLACES = Decimal("0.0001")
TOO_LARGE = Decimal("1e15")


@dataclass(slots=True)
class Transaction:
    id: str
    date: datetime
    amount: Decimal
    balance: Decimal
    description: str | None = None
    counterparty: str | None = None
    reference: str | None = None
    reconciled: bool | None = None
    transaction_type: str | None = None


@dataclass
class Checked:
    transactions: list[Transaction] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def rule_item(item_id, message, validator):
    """A Codat validation item naming the transaction and the rule it broke."""
    return validation_item(message, item_id=item_id, validator=validator)


def _local_datetime(value) -> datetime | None:
    """A local date-time: the wall-clock part as given, offset dropped."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None  # noqa: DTZ001 - local by design
    except ValueError:
        return None
    return parsed.replace(tzinfo=None) if parsed else None


def _money(value, name, item_id, errors):
    if value is None:
        errors.append(rule_item(item_id, f"{name} is required.", f"{name}Required"))
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors.append(rule_item(item_id, f"{name} must be a number.", f"{name}Number"))
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.append(rule_item(item_id, f"{name} must be a number.", f"{name}Number"))
        return None
    if not number.is_finite():
        errors.append(rule_item(item_id, f"{name} must be a number.", f"{name}Number"))
        return None
    # The range first: quantizing a huge number overflows Decimal's context.
    if abs(number) >= TOO_LARGE:
        errors.append(rule_item(item_id, f"{name} is too large.", f"{name}Range"))
        return None
    if number != number.quantize(FOUR_PLACES):
        errors.append(rule_item(item_id, f"{name} has more than 4 decimal places; Xero keeps 4.", "DecimalPlaces"))
        return None
    return number


def _text(raw, key, item_id, errors, limit=None):
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(rule_item(item_id, f"{key} must be a string.", f"{key}String"))
        return None
    if limit and len(value) > limit:
        errors.append(rule_item(item_id, f"{key} is longer than Xero's limit of {limit} characters.", f"{key}Length"))
    return value


def check_transactions(raw_transactions, *, today: date | None = None) -> Checked:
    """Parse and validate a batch; errors and warnings are Codat validation items."""
    checked = Checked()
    errors = checked.errors
    today = today or timezone.now().date()
    if not isinstance(raw_transactions, list) or not raw_transactions:
        errors.append(rule_item(None, "transactions must be a non-empty array.", "TransactionsRequired"))
        return checked
    if len(raw_transactions) > MAX_TRANSACTIONS:
        errors.append(rule_item(None, f"At most {MAX_TRANSACTIONS} transactions per push; got {len(raw_transactions)}.",
                            "MaxTransactions"))
        return checked

    seen = set()
    for index, raw in enumerate(raw_transactions):
        if not isinstance(raw, dict):
            errors.append(rule_item(f"[{index}]", "Each transaction must be an object.", "TransactionObject"))
            continue
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not item_id.strip():
            errors.append(rule_item(f"[{index}]", "id is required for every transaction.", "IdRequired"))
            continue
        if item_id in seen:
            errors.append(rule_item(item_id, "id appears more than once in this batch.", "DuplicateId"))
        seen.add(item_id)
        when = _local_datetime(raw.get("date"))
        if when is None:
            errors.append(rule_item(item_id, "date is required as an ISO 8601 date or date-time.", "DateFormat"))
        else:
            if when.date() > today:
                errors.append(rule_item(item_id, "date is in the future.", "DateInFuture"))
            elif when.date() < today - MAX_AGE:
                errors.append(rule_item(item_id, "date is more than one year ago; Xero refuses older statements.",
                                    "DateTooOld"))
        amount = _money(raw.get("amount"), "amount", item_id, errors)
        balance = _money(raw.get("balance"), "balance", item_id, errors)
        transaction_type = raw.get("transactionType")
        if transaction_type is not None and transaction_type not in TRANSACTION_TYPES:
            errors.append(rule_item(item_id, f"transactionType must be one of {', '.join(sorted(TRANSACTION_TYPES))}.",
                                "TransactionType"))
        reconciled = raw.get("reconciled")
        if reconciled is not None and not isinstance(reconciled, bool):
            errors.append(rule_item(item_id, "reconciled must be true or false.", "ReconciledBoolean"))
        description = _text(raw, "description", item_id, errors, LIMITS["description"])
        counterparty = _text(raw, "counterparty", item_id, errors, LIMITS["payeeName"])
        reference = _text(raw, "reference", item_id, errors, LIMITS["reference"])
        if when is None or amount is None or balance is None:
            continue
        checked.transactions.append(Transaction(
            id=item_id, date=when, amount=amount, balance=balance, description=description,
            counterparty=counterparty, reference=reference, reconciled=reconciled,
            transaction_type=transaction_type,
        ))
    if errors:
        return checked

    _check_order_and_balances(checked)
    return checked


def _check_order_and_balances(checked: Checked):
    transactions, errors, warnings = checked.transactions, checked.errors, checked.warnings
    for previous, current in zip(transactions, transactions[1:], strict=False):
        if current.date < previous.date:
            errors.append(rule_item(current.id, f"Transactions must be in date order: {current.id} is dated before "
                                            f"{previous.id}.", "Chronological"))
    first, last = transactions[0], transactions[-1]
    expected_last = first.balance + sum((t.amount for t in transactions[1:]), Decimal(0))
    if last.balance != expected_last:
        message = (f"The last balance ({last.balance}) must equal the first balance plus the later amounts "
                   f"({expected_last}); Xero would refuse the statement's end balance.")
        errors.append(rule_item(last.id, message, "EndBalance"))
    for previous, current in zip(transactions, transactions[1:], strict=False):
        if previous.balance + current.amount != current.balance:
            warnings.append(rule_item(current.id, f"Running balance breaks here: {previous.balance} + {current.amount} "
                                              f"≠ {current.balance}.", "RunningBalance"))
    for t in transactions:
        if (t.transaction_type == "Credit" and t.amount < 0) or (t.transaction_type == "Debit" and t.amount > 0):
            warnings.append(rule_item(t.id, f"amount {t.amount} has the opposite sign to transactionType "
                                        f"{t.transaction_type}.", "AmountSign"))


def _balance(amount: Decimal) -> dict:
    """Xero balances are unsigned with a CREDIT/DEBIT indicator from the customer's side."""
    return {"amount": float(abs(amount)), "creditDebitIndicator": "CREDIT" if amount >= 0 else "DEBIT"}


@dataclass
class Statement:
    start_date: date
    end_date: date
    start_balance: Decimal
    end_balance: Decimal
    body: dict
    json: str  # the body as sent to Xero, serialised once
    idempotency_key: str


def build_statement(transactions: list[Transaction], *, feed_connection_id: str) -> Statement:
    """One Xero statement for the batch: dates and balances derived from it."""
    first, last = transactions[0], transactions[-1]
    start_balance = first.balance - first.amount
    lines = []
    for t in transactions:
        line = {
            "postedDate": t.date.date().isoformat(),
            "amount": float(abs(t.amount)),
            "creditDebitIndicator": "CREDIT" if t.amount >= 0 else "DEBIT",
            "transactionId": t.id,
            "description": t.description or t.counterparty or t.reference or t.id,
        }
        if t.counterparty:
            line["payeeName"] = t.counterparty
        if t.reference:
            line["reference"] = t.reference
        if t.transaction_type:
            line["transactionType"] = t.transaction_type
        lines.append(line)
    body = {
        "feedConnectionId": feed_connection_id,
        "startDate": first.date.date().isoformat(),
        "endDate": last.date.date().isoformat(),
        "startBalance": _balance(start_balance),
        "endBalance": _balance(last.balance),
        "statementLines": lines,
    }
    # The same batch always makes the same key, so a resend after a lost answer is
    # recognised by Xero instead of delivered twice. The key hashes exactly what is sent.
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(text.encode()).hexdigest()
    return Statement(first.date.date(), last.date.date(), start_balance, last.balance, body, text, key)
