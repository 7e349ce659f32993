"""The push rules, and the Xero statement a batch becomes. Pure functions: no database,
no HTTP, no wire format (the push's reader, feeds/serializers.py, applies the field rules
as it reads each field, so every problem is listed in the partner's order).

Field rules (each failure names the transaction by its id as `itemId`):
- dates are local dates (any offset is ignored, Codat's rule), not after today and
  within the last year (Xero's);
- amount and balance are below 10^15 with at most 4 decimal places (Xero keeps 4);
- text fields stay within Xero's StatementLine limits.
Batch rules:
- 1 to 1000 transactions; ids unique in the batch; chronological;
- the statement's start balance (the first balance minus the first amount) is below
  10^15 too, as Xero's balances are;
- the last balance equals the first balance plus the later amounts, else Xero would
  refuse the statement's end balance. A running balance that breaks in between is a
  warning only: banks order same-day lines differently;
- an amount whose sign contradicts `transactionType` (Credit < 0, Debit > 0) is a warning.
Account rule:
- the feed start date the SMB chose is a promise: lines dated before it are not sent to
  Xero, each listed as a warning; the rest of the batch goes through (docs/API.md).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import orjson

from apps.core import exact_json
from apps.core.dates import within_last_year
from apps.core.money import FOUR_PLACES, beyond_money_limit
from apps.core.refusals import item

MAX_TRANSACTIONS = 1000
TRANSACTION_TYPES = {
    "Unknown", "Credit", "Debit", "Int", "Div", "Fee", "SerChg", "Dep", "Atm", "Pos", "Xfer", "Check", "Payment",
    "Cash", "DirectDep", "DirectDebit", "RepeatPmt", "Other",
}
# Xero's field limits (StatementLine in xero_bankfeeds.yaml), by our field names.
TEXT_LIMITS = {"description": 2000, "counterparty": 255, "reference": 255}


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

    @property
    def transaction_id(self) -> str:
        """The id by its stored name (BankTransaction's): a fresh push's answer shows the
        batch it stored, not rows read back."""
        return self.id


@dataclass
class Checked:
    """A batch as read: the transactions that parsed, and every problem found."""

    transactions: list[Transaction] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def rule_item(item_id, message, validator):
    """A validation item naming the transaction and the rule it broke."""
    return item(message, item_id=item_id, validator=validator)


# --- Field rules --------------------------------------------------------------------------


def count_problem(count: int) -> dict | None:
    if count > MAX_TRANSACTIONS:
        return rule_item(None, f"At most {MAX_TRANSACTIONS} transactions per push; got {count}.", "MaxTransactions")
    return None


def duplicate_id_problem(item_id: str) -> dict:
    return rule_item(item_id, "id appears more than once in this batch.", "DuplicateId")


def date_problem(when: datetime, item_id: str, *, today: date) -> dict | None:
    if when.date() > today:
        return rule_item(item_id, "date is in the future.", "DateInFuture")
    if not within_last_year(when.date(), today=today):
        return rule_item(item_id, "date is more than one year ago; Xero refuses older statements.", "DateTooOld")
    return None


def money_problem(number: Decimal, name: str, item_id: str) -> dict | None:
    # The range first: quantizing a huge number overflows Decimal's context.
    if beyond_money_limit(number):
        return rule_item(item_id, f"{name} is too large.", f"{name}Range")
    if number != number.quantize(FOUR_PLACES):
        return rule_item(item_id, f"{name} has more than 4 decimal places; Xero keeps 4.", "DecimalPlaces")
    return None


def length_problem(value: str, name: str, item_id: str) -> dict | None:
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        return rule_item(item_id, f"{name} is longer than Xero's limit of {limit} characters.", f"{name}Length")
    return None


# --- Batch rules --------------------------------------------------------------------------


def check_batch(checked: Checked) -> None:
    """Order and balances of a batch whose every transaction parsed."""
    transactions, errors, warnings = checked.transactions, checked.errors, checked.warnings
    for previous, current in zip(transactions, transactions[1:], strict=False):
        if current.date < previous.date:
            errors.append(rule_item(current.id, f"Transactions must be in date order: {current.id} is dated before "
                                                f"{previous.id}.", "Chronological"))
    first, last = transactions[0], transactions[-1]
    start_balance = first.balance - first.amount
    if beyond_money_limit(start_balance):
        errors.append(rule_item(first.id, f"The statement would start at balance {start_balance} (the first "
                                          "balance minus the first amount), beyond Xero's limit of 10^15.",
                                "StartBalanceRange"))
    expected_last = first.balance + sum((t.amount for t in transactions[1:]), Decimal(0))
    if last.balance != expected_last:
        message = (f"The last balance ({last.balance}) must equal the first balance plus the later amounts "
                   f"({expected_last}); Xero would refuse the statement's end balance.")
        errors.append(rule_item(last.id, message, "EndBalance"))
    for previous, current in zip(transactions, transactions[1:], strict=False):
        if previous.balance + current.amount != current.balance:
            warnings.append(rule_item(current.id, f"Running balance breaks here: {previous.balance} + "
                                                  f"{current.amount} ≠ {current.balance}.", "RunningBalance"))
    for t in transactions:
        if (t.transaction_type == "Credit" and t.amount < 0) or (t.transaction_type == "Debit" and t.amount > 0):
            warnings.append(rule_item(t.id, f"amount {t.amount} has the opposite sign to transactionType "
                                            f"{t.transaction_type}.", "AmountSign"))


# --- Account rules ------------------------------------------------------------------------

FEED_START_WARNING = ("Transaction dated {date} is before the account's feed start date ({start}); it was not sent "
                      "to Xero.")


def from_feed_start(transactions: list[Transaction], feed_start: date | None) -> tuple[list[Transaction], list[dict]]:
    """The batch's lines dated on or after the feed start date, and a warning for each
    line left out. The batch is chronological, so the lines left out are its first ones
    and the rest still chain from balance to balance."""
    if feed_start is None:
        return transactions, []
    kept = [t for t in transactions if t.date.date() >= feed_start]
    left_out = [rule_item(t.id, FEED_START_WARNING.format(date=t.date.date().isoformat(), start=feed_start.isoformat()),
                          "FeedStartDate") for t in transactions if t.date.date() < feed_start]
    return kept, left_out


@dataclass(frozen=True)
class Gap:
    """Two statements delivered one after the other that do not chain: the later one
    starts at another balance than the earlier one ended, so lines may be missing."""

    after: date
    before: date
    end_balance: Decimal
    start_balance: Decimal


def statement_gaps(statements) -> list[Gap]:
    """The gaps in a chain of delivered statements (objects with statement_start_date,
    statement_end_date, statement_start_balance, statement_end_balance, requested_on):
    in date order, each statement should start where the one before it ended. A later
    statement that fills the missing lines closes the gap, since it then sits between the two."""
    ordered = sorted(statements, key=lambda s: (s.statement_start_date, s.statement_end_date, s.requested_on))
    return [Gap(previous.statement_end_date, current.statement_start_date, previous.statement_end_balance,
                current.statement_start_balance)
            for previous, current in zip(ordered, ordered[1:], strict=False)
            if current.statement_start_balance != previous.statement_end_balance]


# --- The statement ------------------------------------------------------------------------


def _unsigned(amount: Decimal) -> Decimal:
    """An amount as Xero takes it: unsigned, to its 4 decimal places, sent as the exact
    number (a float would round 9876543210987.6543 to …654)."""
    return abs(amount).quantize(FOUR_PLACES)


def _balance(amount: Decimal) -> dict:
    """Xero balances are unsigned with a CREDIT/DEBIT indicator from the customer's side."""
    return {"amount": _unsigned(amount), "creditDebitIndicator": "CREDIT" if amount >= 0 else "DEBIT"}


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
            "amount": _unsigned(t.amount),
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
    # recognised by Xero instead of delivered twice. The key hashes exactly what is sent:
    # compact, keys sorted, amounts as exact decimals, text as UTF-8 (Xero counts its
    # 3,000,000-byte limit in bytes).
    text = exact_json.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    key = hashlib.sha256(text.encode()).hexdigest()
    return Statement(first.date.date(), last.date.date(), start_balance, last.balance, body, text, key)
