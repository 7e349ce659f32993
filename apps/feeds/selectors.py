"""Reads of source accounts and feeds, and their Codat-shaped bodies (camelCase dicts)."""

from django.http import Http404

from apps.xero_auth.models import XeroConnection

from .models import FeedConnection, FeedStatus, SourceAccount, SourceAccountStatus

ACTIVE_FEED_STATUSES = [FeedStatus.CONNECTING, FeedStatus.CONNECTED]


def source_accounts_of(*, connection: XeroConnection):
    """The connection's source accounts, oldest first, with their active feed ready to read."""
    return connection.source_accounts.all().prefetch_related("feeds")


def source_account_get(*, connection: XeroConnection, account_id: str) -> SourceAccount:
    """The connection's source account with the partner's id, or Http404."""
    source_account = connection.source_accounts.filter(account_id=account_id).first()
    if source_account is None:
        raise Http404(f"Source account {account_id} not found")
    return source_account


def active_feed_of(source_account: SourceAccount) -> FeedConnection | None:
    """The feed currently carrying the account; uses prefetched feeds when there are some."""
    return next((f for f in source_account.feeds.all() if f.status in ACTIVE_FEED_STATUSES), None)


def target_accounts_in_use(*, tenant_id) -> set[str]:
    """Xero account ids (as strings) that an active feed of ours carries in this organisation,
    whichever company or partner made it: Xero allows one feed per bank account."""
    ids = FeedConnection.objects.filter(
        status__in=ACTIVE_FEED_STATUSES,
        source_account__connection__tenant_id=tenant_id,
        target_account_id__isnull=False,
    ).values_list("target_account_id", flat=True)
    return {str(i) for i in ids}


# --- Codat bodies -------------------------------------------------------------------------


def _datetime(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def local_datetime(day):
    """A calendar date as Codat's DateTime: unqualified local time at midnight."""
    return f"{day.isoformat()}T00:00:00" if day else None


def source_account_body(source_account: SourceAccount) -> dict:
    """Codat's SourceAccountV2 or SourceAccount (v1), in the version the partner created it in.
    feedStartDate is only given while the account is connected."""
    sa = source_account
    body = {
        "id": sa.account_id,
        "accountName": sa.account_name,
        "accountType": sa.account_type,
        "accountNumber": sa.account_number,
        "sortCode": sa.sort_code,
        "currency": sa.currency or None,
        "balance": sa.balance,
        "modifiedDate": _datetime(sa.modified_date),
        "status": sa.status,
    }
    v2 = sa.api_version == "v2"
    if v2:
        body["currency"] = sa.currency
        body["accountInfo"] = sa.account_info
        if sa.routing_info is not None:  # an object, not nullable, in Codat's schema
            body["routingInfo"] = sa.routing_info
    if sa.status == SourceAccountStatus.CONNECTED and sa.feed_start_date:
        # v2 types it as a date, v1 as Codat's DateTime.
        body["feedStartDate"] = sa.feed_start_date.isoformat() if v2 else local_datetime(sa.feed_start_date)
    return body
