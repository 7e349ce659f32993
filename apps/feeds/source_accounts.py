"""Use cases of source accounts: create (one or a batch), update, delete, and stopping a
feed at Xero. The partner API, the portal, admin and the demo all come through here,
with typed values (the partner API's serializers read Codat's bodies)."""

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction

from apps.core.locks import locked_row
from apps.core.refusals import Refused, item
from apps.tenants.audit import audit_record
from apps.xero_auth import client
from apps.xero_auth.tokens import xero_call

from . import selectors
from .models import ACTIVE_FEED_STATUSES, DisconnectReason, SourceAccount, SourceAccountStatus

logger = logging.getLogger(__name__)

REQUEST_INVALID = "The request made is not valid."
SOURCE_ACCOUNT_DUPLICATE = "A source account with id '{id}' already exists for this connection."
SOURCE_ACCOUNT_OTHER_VERSION = (
    "This connection's source accounts are {version} ({shape}): create this one as {version} too. A connection's "
    "source accounts are all v1 or all v2, as Codat's list-source-accounts answers them."
)
VERSION_SHAPES = {
    "v2": "accountType checking, savings, creditCard or prepaidCard",
    "v1": "accountType Debit or Credit, without routingInfo or accountInfo",
}
UPDATE_STATUS_ONLY_DISCONNECTED = "status can only be changed to 'disconnected'."
UPDATE_BALANCE_CONNECTED = "balance cannot be changed while the account is connected."

# Xero's two feed account types: BANK is every bank account but credit cards. A loan is a
# liability with no statement lines Xero can reconcile as a bank account, so it has none.
XERO_ACCOUNT_TYPES = {
    "checking": "BANK",
    "savings": "BANK",
    "prepaidCard": "BANK",
    "creditCard": "CREDITCARD",
    "Debit": "BANK",
    "Credit": "CREDITCARD",
}
# Update's way of saying "not sent, leave as it is".
UNCHANGED = object()


class SourceAccountRefused(Refused):
    """The source account data breaks a rule; `errors` are itemised by field."""

    def __init__(self, message=REQUEST_INVALID, *, errors=None):
        super().__init__(message, errors=errors or [item(message)])


class SourceAccountOtherVersion(SourceAccountRefused):
    """The body is in the other version (v1, v2) than the connection's accounts."""

    def __init__(self, version: str):
        message = SOURCE_ACCOUNT_OTHER_VERSION.format(version=version, shape=VERSION_SHAPES[version])
        super().__init__(errors=[item(message, item_id="accountType")])


class SourceAccountDuplicate(SourceAccountRefused):
    """The partner's id is already used on this connection."""

    def __init__(self, account_id: str):
        super().__init__(errors=[item(SOURCE_ACCOUNT_DUPLICATE.format(id=account_id), item_id="id")])
        self.account_id = account_id


def xero_account_type(source_account) -> str:
    """BANK or CREDITCARD: the kind of Xero bank account the source account feeds."""
    return XERO_ACCOUNT_TYPES.get(source_account.account_type or "Debit", "BANK")


def _audit(source_account, action, detail=""):
    audit_record(company=str(source_account.connection.company_id), subject="source account",
                 subject_id=source_account.account_id, action=action, detail=detail)


def source_account_create(*, connection, api_version: str, account_id: str, currency: str = "",
                          account_name: str | None = None, account_type: str | None = None,
                          account_number: str | None = None, sort_code: str | None = None,
                          balance: Decimal | None = None, routing_info: dict | None = None,
                          account_info: dict | None = None) -> SourceAccount:
    """A pending source account in the version (v1 or v2) the partner created it in. The
    partner's id is unique per connection (SourceAccountDuplicate), and a connection's
    accounts are all of one version (SourceAccountOtherVersion)."""
    try:
        with transaction.atomic():
            # Serialise creates per connection, so two at once cannot mix versions.
            type(connection).objects.select_for_update().filter(pk=connection.pk).first()
            if connection.source_accounts.filter(account_id=account_id).exists():
                raise SourceAccountDuplicate(account_id)
            version = selectors.source_accounts_version(connection=connection)
            if version not in (None, api_version):
                raise SourceAccountOtherVersion(version)
            account = SourceAccount.objects.create(
                connection=connection, api_version=api_version, status=SourceAccountStatus.PENDING,
                account_id=account_id, account_name=account_name, account_type=account_type,
                account_number=account_number, sort_code=sort_code, currency=currency, balance=balance,
                routing_info=routing_info, account_info=account_info)
            _audit(account, "created", f"{account.account_name or ''} {account.currency}".strip())
            return account
    except IntegrityError:  # the same id created concurrently
        raise SourceAccountDuplicate(account_id)


def source_accounts_batch_create(*, connection, items: list) -> list:
    """Create each source account on its own, whole or not at all. `items` holds, in the
    partner's order, the keyword arguments of source_account_create or the Refused its
    body already got; the answer holds the created account or the Refused, in order."""
    outcomes = []
    for fields in items:
        if isinstance(fields, Refused):
            outcomes.append(fields)
            continue
        try:
            outcomes.append(source_account_create(connection=connection, **fields))
        except SourceAccountRefused as exc:
            outcomes.append(exc)
    return outcomes


def source_account_update(*, source_account, account_name=UNCHANGED, balance=UNCHANGED,
                          status=UNCHANGED) -> SourceAccount:
    """Codat's update: accountName; status, only to `disconnected` (stops the feed at
    Xero); balance, only while not connected."""
    sa = source_account
    errors = []
    changes = {}
    if account_name is not UNCHANGED and account_name != sa.account_name:
        changes["account_name"] = account_name
    if balance is not UNCHANGED and balance != sa.balance:
        if sa.status == SourceAccountStatus.CONNECTED:
            errors.append(item(UPDATE_BALANCE_CONNECTED, item_id="balance"))
        else:
            changes["balance"] = balance
    disconnect = status not in (UNCHANGED, None, sa.status)
    if disconnect and status != SourceAccountStatus.DISCONNECTED:
        errors.append(item(UPDATE_STATUS_ONLY_DISCONNECTED, item_id="status"))
    if errors:
        raise SourceAccountRefused(errors=errors)
    if disconnect:
        # First, so that Xero being unavailable leaves the account untouched.
        sa = feed_disconnect(source_account=sa)
    if changes:
        for attribute, value in changes.items():
            setattr(sa, attribute, value)
        sa.save(update_fields=[*changes, "modified_date"])
        _audit(sa, "updated", ", ".join(f"{k.replace('_', ' ')} → {v}" for k, v in changes.items()))
    return sa


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
        sa.feeds.disconnect()
        sa.mark_disconnected()
        _audit(sa, "feed disconnected", "the Xero bank account and what was delivered to it stay")
    return sa


@transaction.atomic
def feed_refused_by_xero(*, source_account, reason: str) -> None:
    """Xero refused a statement because the account's feed is no longer valid (removed in
    Xero): the feed and the account are disconnected, so the account can be mapped again."""
    source_account.feeds.disconnect(error=reason)
    source_account.mark_disconnected(DisconnectReason.FEED_REFUSED)
    _audit(source_account, "feed disconnected by Xero", reason)


def source_accounts_connection_lost(*, connection, **_) -> None:
    """The connection became Unlinked or Deauthorized (xero_auth's connection_lost): its
    connected and connecting accounts are disconnected, since nothing reaches Xero for them
    any more. Xero could not be told, so their feeds are kept as left at Xero, to be
    deleted there before the accounts are mapped again once the company reconnects."""
    accounts = connection.source_accounts.filter(
        status__in=[SourceAccountStatus.CONNECTED, SourceAccountStatus.CONNECTING])
    for account in accounts:
        account.connection = connection
        account.feeds.disconnect(left_at_xero=True)
        account.mark_disconnected(DisconnectReason.CONNECTION_LOST)
        _audit(account, "feed disconnected", f"the connection is {connection.status}")


def feeds_left_at_xero_stop(*, source_account) -> None:
    """Delete at Xero the feeds of the account left there when its connection lost access
    (source_accounts_connection_lost), now that the connection is linked again: Xero
    refuses a second feed on a bank account that still has one."""
    left = list(source_account.feeds.filter(left_at_xero=True, xero_feed_connection_id__isnull=False))
    if not left:
        return
    xero_call(source_account.connection, client.delete_feed_connections,
              feed_connection_ids=[str(f.xero_feed_connection_id) for f in left])
    source_account.feeds.filter(pk__in=[f.pk for f in left]).update(left_at_xero=False)


def _stop_feeds_at_xero(source_account):
    ids = [str(f.xero_feed_connection_id) for f in source_account.feeds.all()
           if (f.status in ACTIVE_FEED_STATUSES or f.left_at_xero) and f.xero_feed_connection_id]
    if not ids:
        return
    connection = source_account.connection
    if not connection.is_linked:
        # Without the organisation's consent nothing more can reach the feed: it is
        # deleted at Xero when the company reconnects and maps the account again.
        logger.info("Feeds %s of %s left at Xero: connection %s", ids, source_account, connection.status)
        return
    xero_call(connection, client.delete_feed_connections, feed_connection_ids=ids)
