from django.contrib import admin

from . import models


@admin.register(models.SandboxApp)
class SandboxAppAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "bankfeeds", "refresh_count", "created_at"]
    search_fields = ["name", "client_id"]


class BankAccountInline(admin.TabularInline):
    model = models.BankAccount
    extra = 0


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant_id", "base_currency", "is_multi_currency", "country", "bank_feeds_enabled"]
    inlines = [BankAccountInline]


@admin.register(models.BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "account_number", "bank_account_type", "currency", "status"]
    list_filter = ["organisation", "bank_account_type", "currency"]


@admin.register(models.Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["auth_event_id", "app", "scopes", "refresh_count", "created_at", "revoked_at"]


@admin.register(models.FeedConnection)
class FeedConnectionAdmin(admin.ModelAdmin):
    list_display = ["account_token", "organisation", "bank_account", "currency", "status", "created_at", "deleted_at"]
    list_filter = ["organisation", "status"]


class StatementLineInline(admin.TabularInline):
    model = models.StatementLine
    extra = 0
    fields = ["position", "posted_date", "description", "amount", "credit_debit_indicator", "transaction_id"]
    readonly_fields = fields
    can_delete = False


@admin.register(models.Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["id", "feed_connection", "status", "start_date", "end_date", "line_count", "created_at"]
    list_filter = ["status"]
    inlines = [StatementLineInline]


@admin.register(models.Fault)
class FaultAdmin(admin.ModelAdmin):
    list_display = ["operation", "method", "mode", "status", "remaining", "seconds", "hits"]
