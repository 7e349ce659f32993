"""Reads of source accounts, feeds and push operations that the API, the portal and
admin share. Another partner's object is the same 404 as a missing one."""

from django.http import Http404

from apps.tenants.selectors import company_for_partner, owned_or_404
from apps.xero_auth.models import XeroConnection

from .models import ACTIVE_FEED_STATUSES, FeedConnection, PushOperation, SourceAccount


def source_accounts_of(*, connection: XeroConnection):
    """The connection's source accounts, oldest first, with their feeds ready to read."""
    return connection.source_accounts.all().prefetch_related("feeds")


def source_accounts_version(*, connection: XeroConnection) -> str | None:
    """'v1' or 'v2': the version the connection's source accounts were created in (None
    while it has none)."""
    return connection.source_accounts.order_by("pk").values_list("api_version", flat=True).first()


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


def push_operation_for_partner(partner, company_id, key) -> PushOperation:
    """The partner's company's push operation, or the same 404 for anything else."""
    company = company_for_partner(partner, company_id)
    return owned_or_404(company.push_operations.select_related("connection", "source_account"), key,
                        "Push operation")
