"""Staff view of source accounts, feeds and pushes, and the company page's timeline:
"why didn't company X's transactions arrive?" answered on one page."""

import uuid

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.refusals import Refused
from apps.tenants.admin import LargeTablePaginator, ReadOnlyInline, ReadOnlyRecordAdmin, extend_company_admin
from apps.tenants.audit import audit_record
from apps.tenants.models import Company
from apps.xero_auth.client import XeroError

from . import push, selectors, source_accounts
from .models import BankTransaction, FeedConnection, PushOperation, PushStatus, SourceAccount, SourceAccountStatus


class FeedConnectionInline(ReadOnlyInline):
    model = FeedConnection
    fields = ["status", "target_account_name", "target_account_id", "xero_feed_connection_id", "feed_start_date",
              "error", "created", "connected_at", "disconnected_at", "left_at_xero"]


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


class TransactionInline(ReadOnlyInline):
    model = BankTransaction
    fields = ["transaction_id", "date", "amount", "balance", "counterparty", "description"]
    max_num = 0


# How a push failed, told apart for staff: refused by our rules before anything reached
# Xero (no statement), refused by Xero, or Xero busy or not answering.
FAILURES = {
    "ours": ("refused by us (never reached Xero)", Q(status=PushStatus.FAILED, statement_key="")),
    "xero": ("refused by Xero", Q(status=PushStatus.FAILED, status_code__lt=500) & ~Q(statement_key="")
             & ~Q(status_code=429)),
    "unreachable": ("Xero busy or not answering", Q(status=PushStatus.FAILED) & ~Q(statement_key="")
                    & (Q(status_code__gte=500) | Q(status_code=429))),
    "timed_out": ("timed out", Q(status=PushStatus.TIMED_OUT)),
}


def failure_kind(operation) -> str:
    if operation.status == PushStatus.TIMED_OUT:
        return FAILURES["timed_out"][0]
    if operation.status != PushStatus.FAILED:
        return ""
    if not operation.reached_xero:
        return FAILURES["ours"][0]
    if operation.status_code == 429 or operation.status_code >= 500:
        return FAILURES["unreachable"][0]
    return FAILURES["xero"][0]


def error_in_words(operation) -> str:
    """The push's error message and its validation errors, as the partner was told."""
    words = [operation.error_message or ""]
    words += [e.get("message", "") for e in operation.errors if e.get("message") not in words]
    return " ".join(w for w in words if w)


class FailureFilter(admin.SimpleListFilter):
    title = "failure"
    parameter_name = "failure"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in FAILURES.items()]

    def queryset(self, request, queryset):
        if self.value() in FAILURES:
            return queryset.filter(FAILURES[self.value()][1])
        return queryset


class CompanyFilter(admin.SimpleListFilter):
    """One company's pushes, as its page links to them. Offers only the chosen company: a
    choice of every company that ever pushed reads the whole push table on every page and
    lists thousands of names; the search box finds a company by name."""

    title = "company"
    parameter_name = "company__id__exact"

    def lookups(self, request, model_admin):
        company_id = self._company_id()
        company = Company.objects.filter(pk=company_id).first() if company_id else None
        return [(str(company.pk), str(company))] if company else []

    def queryset(self, request, queryset):
        return queryset.filter(company_id=self._company_id()) if self.value() else queryset

    def _company_id(self):
        try:
            return uuid.UUID(self.value()) if self.value() else None
        except ValueError:
            raise IncorrectLookupParameters(f"{self.value()} is not a company id")


@admin.register(PushOperation)
class PushOperationAdmin(ReadOnlyRecordAdmin):
    list_display = ["push_operation_key", "company", "partner", "account_id", "status", "failure", "error",
                    "transaction_count", "delivered", "requested_on", "completed_on"]
    list_filter = ["status", FailureFilter, "delivered", "company__partner", CompanyFilter, "requested_on"]
    search_fields = ["push_operation_key", "company__name", "account_id", "transactions__transaction_id"]
    search_help_text = ("Search by correlation id (the partner's error shows it; it is the push key), company name, "
                        "account id or transaction id.")
    list_select_related = ["company__partner"]
    # No date_hierarchy: its year links read every row's date; the requested_on filter
    # offers today, the last 7 days, this month and this year from the index.
    paginator = LargeTablePaginator
    show_full_result_count = False  # a second COUNT of the whole table on every page
    fields = ["push_operation_key", "company", "connection", "source_account", "account_id", "status", "failure",
              "status_code", "error_message", "validation", "requested_on", "completed_on", "transaction_count",
              "xero_statement_id", "statement_start_date", "statement_end_date", "statement_start_balance",
              "statement_end_balance", "statement_key", "maybe_delivered"]
    readonly_fields = fields
    inlines = [TransactionInline]
    actions = ["retry"]

    @admin.display(ordering="company__partner__name")
    def partner(self, operation):
        return operation.company.partner

    @admin.display(description="failure")
    def failure(self, operation):
        return failure_kind(operation) or "—"

    @admin.display(description="error")
    def error(self, operation):
        words = error_in_words(operation)
        return (words[:117] + "…" if len(words) > 120 else words) or "—"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        try:  # a correlation id, with or without its dashes, is the push key
            key = uuid.UUID(term)
        except ValueError:
            queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
            # Searching by transaction id joins many rows per push; without a search nothing
            # joins, and a DISTINCT over every column would sort the whole table.
            return queryset, may_have_duplicates or bool(search_term)
        return queryset.filter(push_operation_key=key), False

    @admin.action(description="Retry failed push (sends the same statement; Xero never takes it twice)")
    def retry(self, request, queryset):
        # Oldest first: statements reach Xero in order, so the balance ends at the newest.
        for operation in queryset.select_related("source_account", "connection").order_by("requested_on"):
            try:
                result = push.push_retry(operation=operation)
            except push.PushRefused as exc:
                self._audit_retry(operation, f"still failing: {exc.operation.error_message}")
                messages.error(request, f"{operation.push_operation_key}: still failing: {exc.operation.error_message}")
            except push.PushRetryRefused as exc:
                messages.error(request, f"{operation.push_operation_key}: {exc}")
            else:
                # Staff want a definite answer, so ask Xero now whether it delivered it.
                result = push.push_settle(operation=result)
                self._audit_retry(operation, result.status)
                level = messages.SUCCESS if result.status == PushStatus.SUCCESS else messages.WARNING
                messages.add_message(request, level, f"{operation.push_operation_key}: {result.status}.")

    @staticmethod
    def _audit_retry(operation, outcome):
        audit_record(company=operation.company, subject="source account", subject_id=operation.account_id,
                     action="push retried", detail=f"push {operation.push_operation_key}: {outcome}")


@admin.register(BankTransaction)
class BankTransactionAdmin(ReadOnlyRecordAdmin):
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


TIMELINE_LENGTH = 50


def _push_line(operation):
    status = operation.status + (f" — {failure_kind(operation)}" if failure_kind(operation) else "")
    balances = ""
    if operation.statement_end_balance is not None:
        start, end = (format(b.normalize(), "f") for b in (operation.statement_start_balance,
                                                            operation.statement_end_balance))
        balances = f"{start} → {end}"
    url = reverse("admin:feeds_pushoperation_change", args=[operation.pk])
    what = format_html('Push to <strong>{}</strong>: <a href="{}">{}</a>', operation.account_id, url, status)
    detail = format_html("{} line(s){}{}", operation.transaction_count, f"; balance {balances}" if balances else "",
                         f"; {error_in_words(operation)}" if failure_kind(operation) else "")
    return operation.requested_on, "partner API", what, detail


def _audit_line(event):
    what = format_html("{} <strong>{}</strong>: {}", event.subject, event.subject_id, event.action)
    return event.created, f"{event.get_actor_kind_display()} {event.actor}", what, event.detail


@admin.display(description="Timeline (pushes and changes, newest first)")
def company_timeline(company):
    """The company's last pushes (status, how they failed, Xero's error in words, lines,
    balances) and audit events, in one list."""
    pushes = company.push_operations.order_by("-requested_on")[:TIMELINE_LENGTH]
    events = company.audit_events.all()[:TIMELINE_LENGTH]
    lines = sorted([*map(_push_line, pushes), *map(_audit_line, events)], key=lambda line: line[0],
                   reverse=True)[:TIMELINE_LENGTH]
    if not lines:
        return "—"
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (f"{when:%Y-%m-%d %H:%M:%S}", who, what, detail) for when, who, what, detail in lines))
    pushes_url = reverse("admin:feeds_pushoperation_changelist") + f"?company__id__exact={company.pk}"
    events_url = reverse("admin:tenants_auditevent_changelist") + f"?company__id__exact={company.pk}"
    return format_html('<table><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Detail</th></tr>{}</table>'
                       '<p><a href="{}">All pushes</a> · <a href="{}">All changes</a></p>', rows, pushes_url,
                       events_url)


extend_company_admin(sections=[company_source_accounts, company_timeline], prefetch=[
    Prefetch("connections__source_accounts", queryset=SourceAccount.objects.prefetch_related("feeds"))])
