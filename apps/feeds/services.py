"""Use cases of source accounts and their mapping to Xero bank accounts. The partner API,
the portal and admin all come through here.

Bodies in and out are Codat's camelCase shapes, so the API passes the partner's JSON
through and the portal builds the same dicts. Refusals about the data raise
SourceAccountRefused / MappingRefused with Codat validation items; Xero's failures
propagate as apps.xero_auth.client exceptions (the API maps them with xero_answer).
"""

import logging
import re
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.tenants.api_errors import validation_item
from apps.tenants.audit import audit_record
from apps.xero_auth import client
from apps.xero_auth.locks import locked_row
from apps.xero_auth.services import CONNECTION_NOT_LINKED, ConnectionNotLinked, xero_call

from . import selectors
from .models import FeedConnection, FeedStatus, SourceAccount, SourceAccountStatus

logger = logging.getLogger(__name__)

# --- Message constants (tests assert against these) -----------------------------------

REQUEST_INVALID = "The request made is not valid."
FIELD_REQUIRED = "{field} is required."
FIELD_NOT_TEXT = "{field} must be a string of at most {limit} characters."
FIELD_NOT_NUMBER = "{field} must be a number."
FIELD_NOT_OBJECT = "{field} must be an object."
FIELD_NOT_DATE = "{field} must be a date (YYYY-MM-DD)."
CURRENCY_INVALID = "currency must be a 3-letter ISO 4217 currency code, e.g. GBP."
SORT_CODE_REQUIRED = "sortCode is required for GBP accounts."
ACCOUNT_TYPE_INVALID = (
    "accountType must be one of checking, savings, creditCard, prepaidCard (v2) or Debit, Credit (v1)."
)
ACCOUNT_TYPE_NOT_FOR_XERO = (
    "Xero bank feeds carry bank accounts (checking, savings, prepaid card) and credit cards only; "
    "a {type} account cannot be fed to Xero."
)
ROUTING_TYPE_INVALID = "routingInfo.type must be one of: {types}."
SOURCE_ACCOUNT_DUPLICATE = "A source account with id '{id}' already exists for this connection."
BATCH_DUPLICATE = "A bank account already exists with the same Id ('{id}')."
BATCH_NOT_OBJECT = "Each source account must be a JSON object."
BATCH_EMPTY = "The request must be an array of 1 to {limit} source accounts."
UPDATE_FIELD_FIXED = (
    "{field} cannot be changed: only accountName, status (to disconnected) and balance "
    "(while not connected) can be updated."
)
UPDATE_ID_MISMATCH = "id must be the id of the account being updated ('{id}')."
UPDATE_STATUS_ONLY_DISCONNECTED = "status can only be changed to 'disconnected'."
UPDATE_BALANCE_CONNECTED = "balance cannot be changed while the account is connected."
MAPPING_SOURCE_UNKNOWN = "There is no source account '{id}' on this connection."
MAPPING_START_DATE_RANGE = "feedStartDate must be within the last year and not in the future."
MAPPING_NO_CURRENCY = "The source account has no currency; set one before mapping it to Xero."
MAPPING_ALREADY_CONNECTED = "The source account is already connected to a Xero bank account."
MAPPING_TARGET_INVALID = "targetAccountId '{id}' is not a Xero account id."
MAPPING_XERO_NO_ANSWER = "Xero did not say why it refused the feed connection."

# --- Rules ------------------------------------------------------------------------------

V2_ACCOUNT_TYPES = ("checking", "savings", "loan", "creditCard", "prepaidCard")
V1_ACCOUNT_TYPES = ("Debit", "Credit")
V2_ONLY_FIELDS = ("routingInfo", "accountInfo")
# Xero's two feed account types: BANK is every bank account but credit cards. A loan is a
# liability with no statement lines Xero can reconcile as a bank account, so it is refused.
XERO_ACCOUNT_TYPES = {
    "checking": "BANK",
    "savings": "BANK",
    "prepaidCard": "BANK",
    "creditCard": "CREDITCARD",
    "Debit": "BANK",
    "Credit": "CREDITCARD",
}
ROUTING_TYPES = ("rtn", "aba", "swift", "bsb", "iban", "nz2", "trno", "sortcode", "blz", "ifsc", "bankcode",
                 "apca", "clabe")
# Routing types that name the bank's country, for Xero's optional feed `country`.
ROUTING_COUNTRIES = {"sortcode": "GB", "bsb": "AU", "apca": "AU", "nz2": "NZ", "aba": "US", "rtn": "US",
                     "blz": "DE", "ifsc": "IN", "clabe": "MX", "trno": "CA"}
# ISO 4217 codes as Xero's Bank Feeds API lists them (CurrencyCode): a feed in any other
# currency could never be mapped.
ISO_CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GGP GHS GIP GMD GNF GTQ GYD HKD
HNL HRK HTG HUF IDR ILS IMP INR IQD IRR ISK JEP JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SPL SRD STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TVD TWD TZS UAH UGX USD UYU UZS VEF VND VUV WST XAF XCD XDR XOF XPF YER ZAR ZMW ZMK ZWD
""".split())
MAX_BALANCE = Decimal("1e15")
BATCH_LIMIT = 1000
# Xero's FeedConnection limits.
XERO_NAME_LIMIT = 30
XERO_NUMBER_LIMIT = 40
# uuid5 namespace for account tokens, so a retry of the same mapping reuses its token.
ACCOUNT_TOKEN_NAMESPACE = uuid.UUID("0b6f1c52-5d0e-4c1f-8f3e-6c7a2f4f9a11")


class SourceAccountRefused(Exception):
    """The source account data breaks a rule; `errors` are Codat validation items."""

    def __init__(self, message=REQUEST_INVALID, *, errors=None):
        super().__init__(message)
        self.errors = errors or [validation_item(message)]


class MappingRefused(SourceAccountRefused):
    """The mapping request breaks a rule before anything is asked of Xero."""


# --- Source accounts ----------------------------------------------------------------------


def source_account_version(data) -> str:
    """'v1' or 'v2' for a create body: by accountType's value, else by v2-only fields."""
    if not isinstance(data, dict):
        return "v2"
    account_type = data.get("accountType")
    if account_type in V2_ACCOUNT_TYPES:
        return "v2"
    if isinstance(account_type, str) and account_type.capitalize() in V1_ACCOUNT_TYPES:
        return "v1"
    if any(data.get(f) is not None for f in V2_ONLY_FIELDS):
        return "v2"
    # No accountType at all is a valid v1 body (only id is required there).
    return "v1" if account_type is None else "v2"


class _Fields:
    """Collects typed values and itemised errors while reading one body."""

    def __init__(self, data):
        self.data = data
        self.errors = []

    def fail(self, field, message):
        self.errors.append(validation_item(message, item_id=field))

    def text(self, field, *, required, limit=255):
        value = self.data.get(field)
        if value is None or (value == "" and required):
            if required:
                self.fail(field, FIELD_REQUIRED.format(field=field))
            return None
        if not isinstance(value, str) or len(value) > limit:
            self.fail(field, FIELD_NOT_TEXT.format(field=field, limit=limit))
            return None
        return value

    def number(self, field, *, required):
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, FIELD_REQUIRED.format(field=field))
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(field, FIELD_NOT_NUMBER.format(field=field))
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= MAX_BALANCE:
            self.fail(field, FIELD_NOT_NUMBER.format(field=field))
            return None
        return number.quantize(Decimal("0.0001"))

    def obj(self, field):
        value = self.data.get(field)
        if value is not None and not isinstance(value, dict):
            self.fail(field, FIELD_NOT_OBJECT.format(field=field))
            return None
        return value


def _clean(data, api_version) -> dict:
    """The model fields for a create body, or SourceAccountRefused listing every problem."""
    if not isinstance(data, dict):
        raise SourceAccountRefused(errors=[validation_item(BATCH_NOT_OBJECT)])
    v2 = api_version == "v2"
    f = _Fields(data)
    cleaned = {
        "account_id": f.text("id", required=True),
        "account_name": f.text("accountName", required=v2),
        "account_number": f.text("accountNumber", required=v2, limit=64),
        "sort_code": f.text("sortCode", required=False, limit=32),
        "balance": f.number("balance", required=v2),
    }
    account_type = data.get("accountType")
    if account_type is None:
        if v2:
            f.fail("accountType", FIELD_REQUIRED.format(field="accountType"))
    elif v2 and account_type not in V2_ACCOUNT_TYPES or not v2 and (
            not isinstance(account_type, str) or account_type.capitalize() not in V1_ACCOUNT_TYPES):
        f.fail("accountType", ACCOUNT_TYPE_INVALID)
        account_type = None
    elif account_type not in V2_ACCOUNT_TYPES:
        account_type = account_type.capitalize()  # Codat answers v1 types as Debit / Credit
    if account_type is not None and account_type not in XERO_ACCOUNT_TYPES:
        f.fail("accountType", ACCOUNT_TYPE_NOT_FOR_XERO.format(type=account_type))
    cleaned["account_type"] = account_type

    currency = data.get("currency")
    if currency is None:
        if v2:
            f.fail("currency", FIELD_REQUIRED.format(field="currency"))
    elif currency not in ISO_CURRENCIES:
        f.fail("currency", CURRENCY_INVALID)
        currency = None
    cleaned["currency"] = currency or ""
    if currency == "GBP" and not cleaned["sort_code"] and not any(e["itemId"] == "sortCode" for e in f.errors):
        f.fail("sortCode", SORT_CODE_REQUIRED)

    if v2:
        routing = f.obj("routingInfo")
        if routing:
            routing = {"bankCode": routing.get("bankCode"), "type": routing.get("type") or "bankcode"}
            if routing["type"] not in ROUTING_TYPES:
                f.fail("routingInfo.type", ROUTING_TYPE_INVALID.format(types=", ".join(ROUTING_TYPES)))
            if routing["bankCode"] is not None and not isinstance(routing["bankCode"], str):
                f.fail("routingInfo.bankCode", FIELD_NOT_TEXT.format(field="routingInfo.bankCode", limit=255))
        cleaned["routing_info"] = routing
        info = f.obj("accountInfo")
        if info:
            info = _clean_account_info(info, f)
        cleaned["account_info"] = info
    if f.errors:
        raise SourceAccountRefused(errors=f.errors)
    return cleaned


def _clean_account_info(info, fields):
    inner = _Fields(info)
    cleaned = {
        "description": inner.text("description", required=False, limit=1000),
        "nickname": inner.text("nickname", required=False),
        "accountOpenDate": info.get("accountOpenDate"),
        "availableBalance": inner.number("availableBalance", required=False),
    }
    if cleaned["accountOpenDate"] is not None and (
            not isinstance(cleaned["accountOpenDate"], str) or parse_date(cleaned["accountOpenDate"]) is None):
        inner.fail("accountOpenDate", FIELD_NOT_DATE.format(field="accountOpenDate"))
    for error in inner.errors:
        fields.errors.append({**error, "itemId": f"accountInfo.{error['itemId']}"})
    if cleaned["availableBalance"] is not None:
        cleaned["availableBalance"] = float(cleaned["availableBalance"])  # stored in JSON
    return cleaned


def source_account_create(*, connection, data: dict, api_version: str) -> SourceAccount:
    """Create a pending source account from a Codat create body (v1 or v2 shape, see
    source_account_version). The partner's id is unique per connection."""
    cleaned = _clean(data, api_version)
    if connection.source_accounts.filter(account_id=cleaned["account_id"]).exists():
        raise SourceAccountRefused(errors=[validation_item(
            SOURCE_ACCOUNT_DUPLICATE.format(id=cleaned["account_id"]), item_id="id")])
    try:
        with transaction.atomic():
            account = SourceAccount.objects.create(connection=connection, api_version=api_version,
                                                   status=SourceAccountStatus.PENDING, **cleaned)
            _audit(account, "created", f"{account.account_name or ''} {account.currency}".strip())
            return account
    except IntegrityError:  # the same id created concurrently
        raise SourceAccountRefused(errors=[validation_item(
            SOURCE_ACCOUNT_DUPLICATE.format(id=cleaned["account_id"]), item_id="id")])


def source_accounts_batch_create(*, connection, items: list[dict]) -> tuple[int, list[dict]]:
    """Create each source account on its own: (201 all created | 409 all duplicates | 207,
    one Codat batch result per item, in order). An item is created whole or not at all."""
    if not isinstance(items, list) or not 1 <= len(items) <= BATCH_LIMIT:
        raise SourceAccountRefused(errors=[validation_item(BATCH_EMPTY.format(limit=BATCH_LIMIT))])
    results, outcomes = [], []
    for item in items:
        item_id = item.get("id") if isinstance(item, dict) else None
        head = {"sourceAccountId": item_id} if isinstance(item_id, str) else {}
        try:
            account = source_account_create(connection=connection, data=item,
                                            api_version=source_account_version(item))
        except SourceAccountRefused as exc:
            duplicate = any(e["message"] == SOURCE_ACCOUNT_DUPLICATE.format(id=item_id) for e in exc.errors)
            status = 409 if duplicate else 400
            message = BATCH_DUPLICATE.format(id=item_id) if duplicate else "; ".join(
                f"{e['itemId']}: {e['message']}" if e["itemId"] else e["message"] for e in exc.errors)
            # Codat's SourceAccountBatchErrorResponse types statusCode as a string.
            results.append({**head, "result": {"statusCode": str(status), "error": message}})
            outcomes.append(status)
            continue
        results.append({**head, "result": {"statusCode": 201, "error": None,
                                           "account": selectors.source_account_body(account)}})
        outcomes.append(201)
    if all(o == 201 for o in outcomes):
        return 201, results
    if all(o == 409 for o in outcomes):
        return 409, results
    return 207, results


# Fields a partner may send back unchanged on update (Codat's SDK sends the whole account).
_FIXED_FIELDS = {
    "accountType": "account_type",
    "accountNumber": "account_number",
    "sortCode": "sort_code",
    "currency": "currency",
    "routingInfo": "routing_info",
    "accountInfo": "account_info",
}


def source_account_update(*, source_account, data: dict) -> SourceAccount:
    """Codat's update: accountName; status, only to `disconnected` (stops the feed at
    Xero); balance, only while not connected. Any other field that differs is refused."""
    if not isinstance(data, dict):
        raise SourceAccountRefused(errors=[validation_item(BATCH_NOT_OBJECT)])
    sa = source_account
    f = _Fields(data)
    if "id" in data and data["id"] != sa.account_id:
        f.fail("id", UPDATE_ID_MISMATCH.format(id=sa.account_id))
    for field, attribute in _FIXED_FIELDS.items():
        if field in data and not _same(data[field], getattr(sa, attribute)):
            f.fail(field, UPDATE_FIELD_FIXED.format(field=field))
    if "feedStartDate" in data and data["feedStartDate"] is not None and not _same_day(
            data["feedStartDate"], sa.feed_start_date):
        f.fail("feedStartDate", UPDATE_FIELD_FIXED.format(field="feedStartDate"))
    changes = {}
    if "accountName" in data:
        name = f.text("accountName", required=sa.api_version == "v2")
        if name != sa.account_name and not any(e["itemId"] == "accountName" for e in f.errors):
            changes["account_name"] = name
    if "balance" in data:
        balance = f.number("balance", required=sa.api_version == "v2")
        if balance != sa.balance and not any(e["itemId"] == "balance" for e in f.errors):
            if sa.status == SourceAccountStatus.CONNECTED:
                f.fail("balance", UPDATE_BALANCE_CONNECTED)
            else:
                changes["balance"] = balance
    disconnect = False
    if data.get("status") is not None and data["status"] != sa.status:
        if data["status"] != SourceAccountStatus.DISCONNECTED:
            f.fail("status", UPDATE_STATUS_ONLY_DISCONNECTED)
        else:
            disconnect = True
    if f.errors:
        raise SourceAccountRefused(errors=f.errors)
    if disconnect:
        # First, so that Xero being unavailable leaves the account untouched.
        sa = feed_disconnect(source_account=sa)
    if changes:
        for attribute, value in changes.items():
            setattr(sa, attribute, value)
        sa.save(update_fields=[*changes, "modified_date"])
        _audit(sa, "updated", ", ".join(f"{k.replace('_', ' ')} → {v}" for k, v in changes.items()))
    return sa


def _same(sent, stored):
    if isinstance(stored, Decimal) or isinstance(sent, (int, float)) and not isinstance(sent, bool):
        try:
            return stored is not None and Decimal(str(sent)) == stored
        except InvalidOperation:
            return False
    return (sent or None) == (stored or None)


def _same_day(sent, stored):
    return isinstance(sent, str) and _parse_day(sent) == stored


def source_account_delete(*, source_account) -> None:
    """Remove the source account: an active feed is first deleted at Xero (the Xero bank
    account and what was delivered to it stay); the account's feed rows go with it."""
    _stop_feeds_at_xero(source_account)
    _audit(source_account, "deleted")
    source_account.delete()


def feed_disconnect(*, source_account) -> SourceAccount:
    """Stop the account's feed at Xero (DeleteRequests) and mark it and its feed
    disconnected; the row and its history stay, so it can be mapped again."""
    with locked_row(SourceAccount.objects, pk=source_account.pk) as sa:
        _stop_feeds_at_xero(sa)
        now = timezone.now()
        sa.feeds.filter(status__in=selectors.ACTIVE_FEED_STATUSES).update(status=FeedStatus.DISCONNECTED,
                                                                          disconnected_at=now)
        sa.status = SourceAccountStatus.DISCONNECTED
        sa.save(update_fields=["status", "modified_date"])
        _audit(sa, "feed disconnected", "the Xero bank account and what was delivered to it stay")
    return sa


def _stop_feeds_at_xero(source_account):
    ids = [str(f.xero_feed_connection_id) for f in source_account.feeds.all()
           if f.status in selectors.ACTIVE_FEED_STATUSES and f.xero_feed_connection_id]
    if not ids:
        return
    connection = source_account.connection
    if not connection.is_linked:
        # Without the organisation's consent nothing more can reach the feed; Xero drops the
        # app's feeds when the company reconnects elsewhere. Nothing to ask Xero.
        logger.info("Feeds %s of %s left at Xero: connection %s", ids, source_account, connection.status)
        return
    answer = xero_call(connection, client.delete_feed_connections, feed_connection_ids=ids)
    for item in (answer.data or {}).get("items", []):
        error = item.get("error") or {}
        # Already deleted at Xero (by the organisation, say) is the outcome we wanted.
        if item.get("status") == "REJECTED" and error.get("type") != "feed-not-found-or-already-deleted":
            raise client.XeroRejected(f"Xero refused to delete the feed: {error.get('detail', '')}",
                                      status=answer.status, problem=error)


def _audit(source_account, action, detail=""):
    audit_record(company=str(source_account.connection.company_id), subject="source account",
                 subject_id=source_account.account_id, action=action, detail=detail)


# --- Mapping --------------------------------------------------------------------------------


def _require_linked(connection):
    if not connection.is_linked:
        raise ConnectionNotLinked(CONNECTION_NOT_LINKED.format(status=connection.status))


def xero_account_type(source_account) -> str:
    return XERO_ACCOUNT_TYPES.get(source_account.account_type or "Debit", "BANK")


_UK_NUMBER = re.compile(r"^\s*(\d{2}-?\d{2}-?\d{2})\s+(\S+)\s*$")


def _target_option(account) -> dict:
    number = account.get("BankAccountNumber") or None
    sort_code = None
    match = _UK_NUMBER.match(number or "")
    if match:  # Xero UK keeps "sort code + account number" in one field
        sort_code, number = match.groups()
    return {"id": account["AccountID"], "name": account.get("Name"), "sortCode": sort_code, "accountNumber": number}


def mapping_options(*, connection) -> list[dict]:
    """Codat's BankFeedMapping for each source account of the connection, with the Xero
    bank accounts it may be mapped to: active, same currency (no CurrencyCode means the
    organisation's base currency), same type (credit card or bank), not fed already.
    One Xero call for the accounts, one more for the base currency when needed."""
    _require_linked(connection)
    source_accounts = list(selectors.source_accounts_of(connection=connection))
    if not source_accounts:
        return []
    accounts = [a for a in xero_call(connection, client.list_bank_accounts) if a.get("Status", "ACTIVE") == "ACTIVE"]
    base_currency = None
    if any(not a.get("CurrencyCode") for a in accounts):
        base_currency = xero_call(connection, client.get_organisation).get("BaseCurrency")
    in_use = selectors.target_accounts_in_use(tenant_id=connection.tenant_id)
    mappings = []
    for sa in source_accounts:
        kind = xero_account_type(sa)
        options = [
            _target_option(a) for a in accounts
            if (a.get("CurrencyCode") or base_currency) == sa.currency
            and (a.get("BankAccountType") or "BANK") == kind
            and a["AccountID"] not in in_use
        ]
        feed = selectors.active_feed_of(sa)
        mapping = {
            "sourceAccountId": sa.account_id,
            "sourceAccountName": sa.account_name,
            "sourceAccountNumber": sa.account_number,
            "sourceBalance": sa.balance,
            "sourceCurrency": sa.currency or None,
            "status": sa.status,
            "targetAccountId": str(feed.target_account_id) if feed and feed.target_account_id else None,
            "targetAccountName": feed.target_account_name or None if feed else None,
            "feedStartDate": selectors.local_datetime(sa.feed_start_date)
            if sa.status == SourceAccountStatus.CONNECTED else None,
            "targetAccountOptions": options,
        }
        # Codat's schema makes only targetAccountId, feedStartDate and the options nullable.
        nullable = ("targetAccountId", "feedStartDate", "targetAccountOptions")
        mappings.append({k: v for k, v in mapping.items() if v is not None or k in nullable})
    return mappings


def _parse_day(value) -> date | None:
    """A date from Codat's Date or DateTime string; a time's offset is ignored (local date)."""
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
        return moment.date() if moment else parse_date(value)
    except ValueError:
        return None


def parse_feed_start_date(value) -> date | None:
    """feedStartDate from a request body, or MappingRefused naming it."""
    if value is None:
        return None
    day = _parse_day(value)
    if day is None:
        raise MappingRefused(errors=[validation_item(FIELD_NOT_DATE.format(field="feedStartDate"),
                                                     item_id="feedStartDate")])
    return day


def _one_year_before(today):
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def _account_token(source_account, target_account_id) -> str:
    """Our id for the account at Xero: new for every mapping attempt that Xero answered,
    the same for a retry after Xero did not answer, so that retry replays at Xero
    (it doubles as the Idempotency-Key) instead of creating a second feed."""
    attempts = source_account.feeds.count()
    name = f"{source_account.pk}:{attempts}:{target_account_id or 'new'}"
    return uuid.uuid5(ACCOUNT_TOKEN_NAMESPACE, name).hex


def _feed_item(source_account, token, target_uuid) -> dict:
    sa = source_account
    kind = xero_account_type(sa)
    number = sa.account_number or ""
    if kind == "CREDITCARD":
        number = re.sub(r"\D", "", number)[-4:]  # Xero takes a card's last four digits only
    item = {
        "accountToken": token,
        "accountType": kind,
        "accountName": (sa.account_name or sa.account_id)[:XERO_NAME_LIMIT],
        "currency": sa.currency,
    }
    if number:
        item["accountNumber"] = number[:XERO_NUMBER_LIMIT]
    if target_uuid:
        item["accountId"] = str(target_uuid)
    routing_type = (sa.routing_info or {}).get("type")
    country = "GB" if sa.sort_code else ROUTING_COUNTRIES.get(routing_type)
    if country:
        item["country"] = country
    return item


def _answer(sa, status, *, target=None, error=None) -> dict:
    return {"sourceAccountId": sa.account_id, "targetAccountId": str(target) if target else None,
            "status": status, "error": error}


def mapping_create(*, connection, source_account_id: str, target_account_id: str | None,
                   feed_start_date: date | None) -> dict:
    """Map a source account to a Xero bank account (or, without a target, to a new one
    Xero creates, named after the source account) with Xero POST FeedConnections.

    Answers Codat's BankFeedAccountMappingResponse: status `connected` once Xero reads the
    feed back as connected, `connecting` while Xero has it pending, `Failed` with Xero's
    reason when Xero refuses (the source account stays pending). Raises MappingRefused for
    a bad request, ConnectionNotLinked, or Xero's exceptions when Xero cannot be asked
    (then nothing is written)."""
    today = timezone.localdate()
    start = feed_start_date or today
    if not _one_year_before(today) <= start <= today:
        raise MappingRefused(errors=[validation_item(MAPPING_START_DATE_RANGE, item_id="feedStartDate")])
    _require_linked(connection)
    # The row lock makes two mappings of the same account wait for each other.
    with locked_row(connection.source_accounts.all(), account_id=source_account_id) as sa:
        if sa is None:
            raise MappingRefused(errors=[validation_item(MAPPING_SOURCE_UNKNOWN.format(id=source_account_id),
                                                         item_id="sourceAccountId")])
        if not sa.currency:
            raise MappingRefused(errors=[validation_item(MAPPING_NO_CURRENCY, item_id="sourceAccountId")])
        feed = selectors.active_feed_of(sa)
        if feed is not None and feed.status == FeedStatus.CONNECTED:
            return _answer(sa, "Failed", target=feed.target_account_id, error=MAPPING_ALREADY_CONNECTED)
        if feed is not None:
            return _confirm(connection, sa, feed)  # an earlier mapping still pending at Xero: ask again
        target_uuid = None
        if target_account_id:
            try:
                target_uuid = uuid.UUID(str(target_account_id))
            except ValueError:
                return _answer(sa, "Failed", error=MAPPING_TARGET_INVALID.format(id=target_account_id))
        token = _account_token(sa, target_uuid)
        answer = xero_call(connection, client.create_feed_connections, items=[_feed_item(sa, token, target_uuid)],
                           idempotency_key=token)
        items = (answer.data or {}).get("items") or [{}]
        item = items[0]
        if item.get("status") == "REJECTED" or item.get("error") or not item.get("id"):
            error = (item.get("error") or {}).get("detail") or MAPPING_XERO_NO_ANSWER
            FeedConnection.objects.create(source_account=sa, account_token=token, target_account_id=target_uuid,
                                          status=FeedStatus.FAILED, error=error, feed_start_date=start)
            _audit(sa, "feed refused by Xero", error)
            return _answer(sa, "Failed", target=target_uuid, error=error)
        feed = FeedConnection.objects.create(
            source_account=sa, account_token=token, xero_feed_connection_id=item["id"],
            target_account_id=target_uuid, status=FeedStatus.CONNECTING, feed_start_date=start)
        sa.status = SourceAccountStatus.CONNECTING
        sa.feed_start_date = start
        sa.save(update_fields=["status", "feed_start_date", "modified_date"])
        return _confirm(connection, sa, feed)


def _confirm(connection, sa, feed) -> dict:
    """Read the feed back from Xero and record what it says. Xero's own answer to the
    create was accepted already, so a failure to read back leaves it `connecting`."""
    try:
        read = xero_call(connection, client.get_feed_connection, feed_connection_id=str(feed.xero_feed_connection_id))
    except client.XeroError as exc:
        logger.warning("Feed %s accepted by Xero but not read back: %s", feed.xero_feed_connection_id, exc)
        return _answer(sa, sa.status, target=feed.target_account_id)
    status = (read.get("status") or "CONNECTED").upper()
    if status == "REJECTED":
        error = (read.get("error") or {}).get("detail") or MAPPING_XERO_NO_ANSWER
        feed.status, feed.error = FeedStatus.FAILED, error
        feed.save(update_fields=["status", "error"])
        sa.status = SourceAccountStatus.PENDING
        sa.save(update_fields=["status", "modified_date"])
        return _answer(sa, "Failed", target=feed.target_account_id, error=error)
    if read.get("accountId"):
        feed.target_account_id = uuid.UUID(read["accountId"])
    if status == "PENDING":
        feed.save(update_fields=["target_account_id"])
        return _answer(sa, SourceAccountStatus.CONNECTING, target=feed.target_account_id)
    feed.status = FeedStatus.CONNECTED
    feed.connected_at = timezone.now()
    feed.target_account_name = _target_name(connection, feed.target_account_id) or read.get("accountName") or ""
    feed.save(update_fields=["status", "connected_at", "target_account_id", "target_account_name"])
    sa.status = SourceAccountStatus.CONNECTED
    sa.save(update_fields=["status", "modified_date"])
    _audit(sa, "feed connected", f"to Xero account {feed.target_account_name or feed.target_account_id}, "
                                 f"transactions from {feed.feed_start_date}")
    return _answer(sa, SourceAccountStatus.CONNECTED, target=feed.target_account_id)


def _target_name(connection, account_id) -> str | None:
    """The Xero bank account's name, as the organisation sees it."""
    try:
        accounts = xero_call(connection, client.list_bank_accounts)
    except client.XeroError as exc:
        logger.warning("Could not read Xero account names: %s", exc)
        return None
    return next((a.get("Name") for a in accounts if a.get("AccountID") == str(account_id)), None)


def feed_start_date_window(today=None) -> tuple[date, date]:
    """The dates a feed may start on: the last year up to today (for forms)."""
    today = today or timezone.localdate()
    return _one_year_before(today), today

