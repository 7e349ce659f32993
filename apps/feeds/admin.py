from django.contrib import admin, messages

from apps.xero_auth.client import XeroError
from apps.xero_auth.services import ConnectionNotLinked

from . import services
from .models import FeedConnection, SourceAccount, SourceAccountStatus


class FeedConnectionInline(admin.TabularInline):
    model = FeedConnection
    extra = 0
    can_delete = False
    fields = ["status", "target_account_name", "target_account_id", "xero_feed_connection_id", "feed_start_date",
              "error", "created", "connected_at", "disconnected_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SourceAccount)
class SourceAccountAdmin(admin.ModelAdmin):
    list_display = ["account_id", "account_name", "account_type", "currency", "status", "connection", "created"]
    list_filter = ["status", "api_version", "currency"]
    search_fields = ["account_id", "account_name", "connection__company__name"]
    list_select_related = ["connection__company"]
    readonly_fields = ["connection", "api_version", "status", "feed_start_date", "created", "modified_date",
                       "last_end_balance", "last_end_date", "last_pushed_at"]
    inlines = [FeedConnectionInline]
    actions = ["disconnect_feeds"]

    @admin.action(description="Disconnect the feed at Xero")
    def disconnect_feeds(self, request, queryset):
        for source_account in queryset.exclude(status=SourceAccountStatus.DISCONNECTED):
            try:
                services.feed_disconnect(source_account=source_account)
            except (XeroError, ConnectionNotLinked) as exc:
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
