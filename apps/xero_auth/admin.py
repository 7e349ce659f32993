"""Staff view of Xero connections. Tokens are never shown; the fields that the OAuth flow
and the refresh own are read-only, so an edit here cannot put a connection in a state
Xero does not know about. Refresh and revoke go through the same services as the API."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from apps.core.refusals import Refused
from apps.tenants.admin import ReadOnlyInline, extend_company_admin
from apps.tenants.audit import audit_record

from . import client, connections, tokens
from .models import XeroConnection


@admin.register(XeroConnection)
class XeroConnectionAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "tenant_name", "status", "access_token_expires_at", "linked_at", "created"]
    list_filter = ["status"]
    search_fields = ["id", "company__name", "tenant_name", "tenant_id"]
    list_select_related = ["company__partner"]
    # An allow-list: a field added to the model later stays out until someone decides.
    fields = ["company", "status", "tenant_name", "tenant_id", "xero_connection_id", "scopes",
              "access_token_expires_at", "refresh_token_issued_at", "linked_at", "checked_at", "created", "updated",
              "data_connection_errors"]
    readonly_fields = fields
    actions = ["refresh_token_now", "revoke"]

    def has_add_permission(self, request):
        return False  # connections are created by the partner API or the portal

    @admin.action(description="Refresh token now")
    def refresh_token_now(self, request, queryset):
        for connection in queryset:
            try:
                tokens.token_refresh(connection_id=connection.pk, force=True)
            except (Refused, client.XeroError) as exc:
                messages.error(request, f"{connection}: {exc}")
            else:
                audit_record(company=str(connection.company_id), subject="connection", subject_id=connection.pk,
                             action="token refreshed", detail="refreshed by staff from admin")
                messages.success(request, f"{connection}: token refreshed.")

    @admin.action(description="Revoke (unlink; the company can connect again)…")
    def revoke(self, request, queryset):
        """Asks first, on a page of its own (as Django's delete does): revoking stops every
        feed of the company until it connects Xero again."""
        if request.POST.get("post") != "yes":
            return TemplateResponse(request, "admin/xero_auth/xeroconnection/revoke_confirmation.html", {
                **self.admin_site.each_context(request), "title": "Revoke Xero access?",
                "connections": queryset.select_related("company"), "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            })
        for connection in queryset:
            try:
                connections.connection_unlink(connection=connection)
            except (Refused, client.XeroError) as exc:
                messages.error(request, f"{connection}: {exc}")
            else:
                messages.success(request, f"{connection}: revoked at Xero and unlinked.")


class ConnectionInline(ReadOnlyInline):
    """A company's connections, on the company page."""

    model = XeroConnection
    fields = ["id", "status", "tenant_name", "linked_at", "created"]
    show_change_link = True


extend_company_admin(inlines=[ConnectionInline])
