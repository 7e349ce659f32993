from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.utils import timezone
from django.utils.functional import cached_property

from .models import AuditEvent, Company, CompanyMembership, Partner, PartnerApiKey


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page as they are: nothing added, changed or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ApiKeyInline(ReadOnlyInline):
    model = PartnerApiKey
    fields = ["name", "prefix", "created", "last_used_at", "revoked_at"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "display_name", "support_email", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["xero_start_url"]
    fieldsets = [
        (None, {"fields": ["name", "slug"]}),
        ("Portal branding", {"fields": ["display_name", "logo_url", "primary_colour", "support_email"]}),
        ("Language and time", {"fields": ["default_language", "currency", "time_zone"]}),
        ("Back to the partner", {"fields": ["return_url", "redirect_hosts"]}),
        ("Starting at Xero", {"fields": ["start_url", "xero_start_url"],
                              "description": "Register the Xero start URL with Xero for users who begin at "
                                             "\"Add bank account\"; it sends them to the partner's start URL."}),
    ]
    inlines = [ApiKeyInline]
    actions = ["issue_api_key"]

    @admin.display(description="Xero start URL")
    def xero_start_url(self, partner):
        return partner.xero_start_url if partner.pk else "—"

    @admin.action(description="Create a new API key (shown once)")
    def issue_api_key(self, request, queryset):
        for partner in queryset:
            _, raw = PartnerApiKey.issue(partner, name=f"admin {timezone.now():%Y-%m-%d}")
            messages.warning(request, f"New API key for {partner}: {raw} — copy it now, it will not be shown again.")


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "partner", "created", "last_used_at", "revoked_at"]
    list_filter = ["partner"]
    list_select_related = ["partner"]
    fields = ["partner", "name", "prefix", "created", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["partner"] if obj else [])

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, raw = PartnerApiKey.issue(obj.partner, name=obj.name)
        obj.pk, obj.prefix = key.pk, key.prefix
        messages.warning(request, f"API key for {obj.partner}: {raw} — copy it now, it will not be shown again.")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            key.revoke()
        messages.success(request, f"Revoked {queryset.count()} key(s).")


class MembershipInline(admin.TabularInline):
    model = CompanyMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    """The company page. The apps above tenants add what they own about a company (its
    connections, its source accounts) with extend_company_admin, from their admin module."""

    list_display = ["name", "partner", "id", "created"]
    list_filter = ["partner"]
    list_select_related = ["partner"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created", "created_by_user_name"]
    inlines = [MembershipInline]
    sections: list = []
    prefetch: list = []

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.sections]

    def get_fields(self, request, obj=None):
        # The sections come last, after the company's own fields.
        fields = [f for f in super().get_fields(request, obj) if f not in self.sections]
        return [*fields, *self.sections]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.prefetch)


def extend_company_admin(*, inlines=(), sections=(), prefetch=()) -> None:
    """Add inlines, read-only sections (admin.display functions of a company) and the
    prefetches they need to the company page."""
    CompanyAdmin.inlines = [*CompanyAdmin.inlines, *inlines]
    CompanyAdmin.sections = [*CompanyAdmin.sections, *sections]
    CompanyAdmin.prefetch = [*CompanyAdmin.prefetch, *prefetch]


class LargeTablePaginator(Paginator):
    """Page links for tables that grow without bound (pushes, transactions). Unfiltered,
    PostgreSQL's row estimate (pg_class.reltuples, kept by autovacuum) stands in for a
    COUNT(*) that would read the whole table, once the estimate passes EXACT_BELOW; a
    smaller table, or one never analysed, is counted exactly, in the same one query.
    Filtered lists are counted exactly, as Django does."""

    EXACT_BELOW = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        db = connections[queryset.db]
        if queryset.query.where or queryset.query.distinct or db.vendor != "postgresql":
            return super().count
        table = db.ops.quote_name(queryset.model._meta.db_table)  # the model's own table, quoted
        sql = (f"SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint ELSE (SELECT count(*) FROM {table}) END "  # noqa: S608
               "FROM pg_class WHERE oid = %s::regclass")
        with db.cursor() as cursor:
            cursor.execute(sql, [self.EXACT_BELOW, table])
            return cursor.fetchone()[0]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: staff read them and act through actions, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyRecordAdmin(ReadOnlyAdmin):
    """A record staff may neither edit nor delete: what happened stays on file."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyRecordAdmin):
    list_display = ["created", "company", "actor_kind", "actor", "subject", "subject_id", "action"]
    list_filter = ["actor_kind", "subject", "created"]
    search_fields = ["company__name", "subject_id", "actor", "action"]
    list_select_related = ["company"]
    date_hierarchy = "created"
