from django.contrib import admin, messages
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.refusals import Refused
from apps.tenants.admin import LargeTablePaginator, ReadOnlyAdmin, extend_company_admin
from apps.xero_auth.client import XeroError

from . import push, selectors, source_accounts
from .models import BankTransaction, FeedConnection, PushOperation, PushStatus, SourceAccount, SourceAccountStatus


class FeedConnectionInline(admin.TabularInline):
    model = FeedConnection
    extra = 0
    can_delete = False
    fields = ["status", "target_account_name", "target_account_id", "xero_feed_connection_id", "feed_start_date",
              "error", "created", "connected_at", "disconnected_at", "left_at_xero"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SourceAccount)
class SourceAccountAdmin(admin.ModelAdmin):
    list_display = ["account_id", "account_name", "account_type", "currency", "status", "disconnect_reason",
                    "connection", "created"]
    list_filter = ["status", "disconnect_reason", "api_version", "currency"]
    search_fields = ["account_id", "account_name", "connection__company__name"]
    list_select_related = ["connection__company"]
    # Only the name is safe to edit: the rest is what Xero's feed was created from.
    readonly_fields = ["connection", "account_id", "api_version", "account_type", "account_number", "sort_code",
                       "routing_info", "account_info", "currency", "balance", "status", "feed_start_date", "created",
                       "modified_date", "last_end_balance", "last_end_date", "last_pushed_at", "disconnect_reason",
                       "disconnected_at"]
    inlines = [FeedConnectionInline]
    actions = ["disconnect_feeds"]

    @admin.action(description="Disconnect the feed at Xero")
    def disconnect_feeds(self, request, queryset):
        for source_account in queryset.exclude(status=SourceAccountStatus.DISCONNECTED):
            try:
                source_accounts.feed_disconnect(source_account=source_account)
            except (XeroError, Refused) as exc:
                messages.error(request, f"{source_account}: {exc}")
            else:
                messages.success(request, f"{source_account}: feed disconnected.")


@admin.register(FeedConnection)
class FeedConnectionAdmin(admin.ModelAdmin):
    list_display = ["source_account", "status", "target_account_name", "feed_start_date", "created"]
    list_filter = ["status"]
    search_fields = ["source_account__account_id", "target_account_name", "account_token"]
    readonly_fields = [f.name for f in FeedConnection._meta.fields]

    def has_add_permission(self, request):
        return False


class TransactionInline(admin.TabularInline):
    model = BankTransaction
    extra = 0
    can_delete = False
    fields = ["transaction_id", "date", "amount", "balance", "counterparty", "description"]
    readonly_fields = fields
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PushOperation)
class PushOperationAdmin(ReadOnlyAdmin):
    list_display = ["push_operation_key", "company", "partner", "account_id", "status", "status_code",
                    "transaction_count", "delivered", "requested_on", "completed_on"]
    list_filter = ["status", "delivered", "company__partner", "requested_on"]
    search_fields = ["push_operation_key", "company__name", "account_id", "transactions__transaction_id"]
    list_select_related = ["company__partner"]
    # No date_hierarchy: its year links read every row's date; the requested_on filter
    # offers today, the last 7 days, this month and this year from the index.
    paginator = LargeTablePaginator
    show_full_result_count = False  # a second COUNT of the whole table on every page
    fields = ["push_operation_key", "company", "connection", "source_account", "account_id", "status", "status_code",
              "error_message", "validation", "requested_on", "completed_on", "transaction_count", "xero_statement_id",
              "statement_start_date", "statement_end_date", "statement_start_balance", "statement_end_balance",
              "statement_key", "maybe_delivered"]
    readonly_fields = fields
    inlines = [TransactionInline]
    actions = ["retry"]

    @admin.display(ordering="company__partner__name")
    def partner(self, operation):
        return operation.company.partner

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Searching by transaction id joins many rows per push; without a search nothing
        # joins, and a DISTINCT over every column would sort the whole table.
        return queryset, may_have_duplicates or bool(search_term)

    @admin.action(description="Retry failed push (sends the same statement; Xero never takes it twice)")
    def retry(self, request, queryset):
        for operation in queryset.select_related("source_account", "connection"):
            try:
                result = push.push_retry(operation=operation)
            except push.PushRefused as exc:
                messages.error(request, f"{operation.push_operation_key}: still failing: {exc.operation.error_message}")
            except push.PushRetryRefused as exc:
                messages.error(request, f"{operation.push_operation_key}: {exc}")
            else:
                # Staff want a definite answer, so ask Xero now whether it delivered it.
                result = push.push_settle(operation=result)
                level = messages.SUCCESS if result.status == PushStatus.SUCCESS else messages.WARNING
                messages.add_message(request, level, f"{operation.push_operation_key}: {result.status}.")


@admin.register(BankTransaction)
class BankTransactionAdmin(ReadOnlyAdmin):
    list_display = ["transaction_id", "source_account", "date", "amount", "balance", "delivered", "push_operation"]
    list_filter = ["push_operation__delivered"]
    search_fields = ["transaction_id", "source_account__account_id", "push_operation__push_operation_key"]
    list_select_related = ["source_account", "push_operation"]
    show_full_result_count = False  # the table grows fastest; skip the second COUNT
    paginator = LargeTablePaginator

    @admin.display(boolean=True, ordering="push_operation__delivered", description="delivered")
    def delivered(self, transaction):
        return transaction.delivered


@admin.display(description="Source accounts")
def company_source_accounts(company):
    """The company's source accounts with their Xero account, on the company page."""
    rows = [(reverse("admin:feeds_sourceaccount_change", args=[a.pk]), a.account_id, a.account_name or "",
             a.currency, a.status, (selectors.active_feed_of(a) or FeedConnection()).target_account_name or "—")
            for c in company.connections.all() for a in c.source_accounts.all()]
    if not rows:
        return "—"
    body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                            rows)
    return format_html("<table><tr><th>Id</th><th>Name</th><th>Currency</th><th>Status</th><th>Xero account</th>"
                       "</tr>{}</table>", body)


extend_company_admin(sections=[company_source_accounts], prefetch=[
    Prefetch("connections__source_accounts", queryset=SourceAccount.objects.prefetch_related("feeds"))])
