"""Mapping source accounts to Xero bank accounts: the options each may go to, and the
mapping itself (Xero POST FeedConnections, then the feed read back)."""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from apps.core.dates import one_year_before, within_last_year
from apps.core.locks import locked_row
from apps.core.refusals import Refused, item
from apps.tenants.audit import audit_record
from apps.xero_auth import client
from apps.xero_auth.refusals import ConnectionNotLinked
from apps.xero_auth.tokens import xero_call

from . import selectors
from .models import FeedConnection, FeedStatus, SourceAccount, SourceAccountStatus
from .source_accounts import feeds_left_at_xero_stop, xero_account_type

logger = logging.getLogger(__name__)

REQUEST_INVALID = "The request made is not valid."
MAPPING_SOURCE_UNKNOWN = "There is no source account '{id}' on this connection."
MAPPING_START_DATE_RANGE = "feedStartDate must be within the last year and not in the future."
MAPPING_NO_CURRENCY = "The source account has no currency; set one before mapping it to Xero."
MAPPING_ALREADY_CONNECTED = "The source account is already connected to a Xero bank account."
MAPPING_TARGET_INVALID = "targetAccountId '{id}' is not a Xero account id."
MAPPING_XERO_NO_ANSWER = "Xero did not say why it refused the feed connection."

# Routing types that name the bank's country, for Xero's optional feed `country`.
ROUTING_COUNTRIES = {"sortcode": "GB", "bsb": "AU", "apca": "AU", "nz2": "NZ", "aba": "US", "rtn": "US",
                     "blz": "DE", "ifsc": "IN", "clabe": "MX", "trno": "CA"}
# Xero's FeedConnection limits.
XERO_NAME_LIMIT = 30
XERO_NUMBER_LIMIT = 40
# uuid5 namespace for account tokens, so a retry of the same mapping reuses its token.
ACCOUNT_TOKEN_NAMESPACE = uuid.UUID("0b6f1c52-5d0e-4c1f-8f3e-6c7a2f4f9a11")


class MappingRefused(Refused):
    """The mapping request breaks a rule before anything is asked of Xero."""

    def __init__(self, message, *, item_id):
        super().__init__(REQUEST_INVALID, errors=[item(message, item_id=item_id)])


@dataclass
class MappingOption:
    """A source account, the feed carrying it (if any), the Xero accounts it may go to, and
    whether Xero may create a new one for it (its currency is one the organisation holds)."""

    source_account: SourceAccount
    feed: FeedConnection | None
    targets: list[client.BankAccount]
    can_create: bool = True


@dataclass
class MappingResult:
    """What became of one mapping: connected, connecting (Xero has it pending), or failed
    with Xero's reason (the source account then stays as it was)."""

    source_account_id: str
    target_account_id: uuid.UUID | str | None
    status: str | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def _require_linked(connection, *, status=None):
    if not connection.is_linked:
        raise ConnectionNotLinked(connection.status, status=status)


def feed_start_date_window(today: date | None = None) -> tuple[date, date]:
    """The dates a feed may start on: the last year up to today."""
    today = today or timezone.localdate()
    return one_year_before(today), today


def mapping_options(*, connection) -> list[MappingOption]:
    """Each source account of the connection with the Xero bank accounts it may be mapped
    to: same currency (no currency means the organisation's base currency), same type
    (credit card or bank), not fed already; and whether a new account may be created in
    its currency (the base currency, or any once multi-currency is on, as Xero's feed
    connections allow). Two Xero calls (accounts, currencies), one more for the base
    currency when an account or the currencies leave it out. A connection that is not (or
    no longer) Linked is a 403: Codat's get-bank-account-mapping lists no 400."""
    _require_linked(connection, status=403)
    source_accounts = list(selectors.source_accounts_of(connection=connection))
    if not source_accounts:
        return []
    try:
        accounts = xero_call(connection, client.list_bank_accounts)
        currencies = xero_call(connection, client.list_currencies)
        base_currency = None
        if not currencies or any(a.currency is None for a in accounts):
            base_currency = xero_call(connection, client.get_organisation).base_currency
    except ConnectionNotLinked as exc:  # Xero said the organisation's consent is gone
        raise ConnectionNotLinked(exc.connection_status, status=403) from exc
    holdable = {*currencies, base_currency} - {None}
    in_use = selectors.target_accounts_in_use(tenant_id=connection.tenant_id)
    return [
        MappingOption(
            source_account=sa, feed=selectors.active_feed_of(sa),
            targets=[a for a in accounts if (a.currency or base_currency) == sa.currency
                     and a.type == xero_account_type(sa) and a.account_id not in in_use],
            can_create=len(holdable) > 1 or sa.currency in holdable)
        for sa in source_accounts
    ]


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
    feed = {
        "accountToken": token,
        "accountType": kind,
        "accountName": (sa.account_name or sa.account_id)[:XERO_NAME_LIMIT],
        "currency": sa.currency,
    }
    if number:
        feed["accountNumber"] = number[:XERO_NUMBER_LIMIT]
    if target_uuid:
        feed["accountId"] = str(target_uuid)
    routing_type = (sa.routing_info or {}).get("type")
    country = "GB" if sa.sort_code else ROUTING_COUNTRIES.get(routing_type)
    if country:
        feed["country"] = country
    return feed


def _audit(source_account, action, detail=""):
    audit_record(company=str(source_account.connection.company_id), subject="source account",
                 subject_id=source_account.account_id, action=action, detail=detail)


def mapping_create(*, connection, source_account_id: str, target_account_id: str | None,
                   feed_start_date: date | None) -> MappingResult:
    """Map a source account to a Xero bank account (or, without a target, to a new one
    Xero creates, named after the source account) with Xero POST FeedConnections.

    The result is connected once Xero reads the feed back as connected, connecting while
    Xero has it pending, failed with Xero's reason when Xero refuses (the source account
    stays pending). Raises MappingRefused for a bad request, ConnectionNotLinked, or
    Xero's exceptions when Xero cannot be asked (then nothing is written)."""
    today = timezone.localdate()
    start = feed_start_date or today
    if not within_last_year(start, today=today):
        raise MappingRefused(MAPPING_START_DATE_RANGE, item_id="feedStartDate")
    _require_linked(connection)
    # The row lock makes two mappings of the same account wait for each other.
    with locked_row(connection.source_accounts.all(), account_id=source_account_id) as sa:
        if sa is None:
            raise MappingRefused(MAPPING_SOURCE_UNKNOWN.format(id=source_account_id), item_id="sourceAccountId")
        if not sa.currency:
            raise MappingRefused(MAPPING_NO_CURRENCY, item_id="sourceAccountId")
        feed = selectors.active_feed_of(sa)
        if feed is not None and feed.status == FeedStatus.CONNECTED:
            return MappingResult(sa.account_id, feed.target_account_id, error=MAPPING_ALREADY_CONNECTED)
        if feed is not None:
            return _confirm(connection, sa, feed)  # an earlier mapping still pending at Xero: ask again
        target_uuid = None
        if target_account_id:
            try:
                target_uuid = uuid.UUID(str(target_account_id))
            except ValueError:
                return MappingResult(sa.account_id, None, error=MAPPING_TARGET_INVALID.format(id=target_account_id))
        feeds_left_at_xero_stop(source_account=sa)
        token = _account_token(sa, target_uuid)
        try:
            feed_id = xero_call(connection, client.create_feed_connection, item=_feed_item(sa, token, target_uuid),
                                idempotency_key=token)
        except client.XeroItemRejected as exc:
            error = next((p.detail for p in exc.problems if p.detail), MAPPING_XERO_NO_ANSWER)
            FeedConnection.objects.create(source_account=sa, account_token=token, target_account_id=target_uuid,
                                          status=FeedStatus.REFUSED, error=error, feed_start_date=start)
            _audit(sa, "feed refused by Xero", error)
            return MappingResult(sa.account_id, target_uuid, error=error)
        feed = FeedConnection.objects.create(
            source_account=sa, account_token=token, xero_feed_connection_id=feed_id,
            target_account_id=target_uuid, status=FeedStatus.CONNECTING, feed_start_date=start)
        sa.mark_connecting(feed_start_date=start)
        return _confirm(connection, sa, feed)


def _confirm(connection, sa, feed) -> MappingResult:
    """Read the feed back from Xero and record what it says. Xero's own answer to the
    create was accepted already, so a failure to read back leaves it `connecting`."""
    try:
        read = xero_call(connection, client.get_feed_connection, feed_connection_id=str(feed.xero_feed_connection_id))
    except client.XeroItemRejected as exc:
        error = next((p.detail for p in exc.problems if p.detail), MAPPING_XERO_NO_ANSWER)
        feed.mark_refused(error)
        sa.mark_pending()
        return MappingResult(sa.account_id, feed.target_account_id, error=error)
    except client.XeroError as exc:
        logger.warning("Feed %s accepted by Xero but not read back: %s", feed.xero_feed_connection_id, exc)
        return MappingResult(sa.account_id, feed.target_account_id, status=sa.status)
    if read.account_id:
        feed.target_account_id = uuid.UUID(read.account_id)
    if not read.connected:
        feed.save(update_fields=["target_account_id"])
        return MappingResult(sa.account_id, feed.target_account_id, status=SourceAccountStatus.CONNECTING)
    name = _target_name(connection, feed.target_account_id) or read.account_name or ""
    feed.mark_connected(target_account_id=feed.target_account_id, target_account_name=name)
    sa.mark_connected()
    _audit(sa, "feed connected", f"to Xero account {feed.target_account_name or feed.target_account_id}, "
                                 f"transactions from {feed.feed_start_date}")
    return MappingResult(sa.account_id, feed.target_account_id, status=SourceAccountStatus.CONNECTED)


def _target_name(connection, account_id) -> str | None:
    """The Xero bank account's name, as the organisation sees it."""
    try:
        accounts = xero_call(connection, client.list_bank_accounts)
    except client.XeroError as exc:
        logger.warning("Could not read Xero account names: %s", exc)
        return None
    return next((a.name for a in accounts if a.account_id == str(account_id)), None)
