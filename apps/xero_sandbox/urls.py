"""Sandbox URLs below /xero-sandbox/, mirroring Xero's hosts:
login.xero.com/identity/connect/authorize, identity.xero.com/connect/*,
api.xero.com/connections, api.xero.com/bankfeeds.xro/1.0/*, api.xero.com/api.xro/2.0/*;
and the sandbox's own: its control surface (``control_views``) and read-only views of
its state (``state_views``)."""

from django.urls import path

from . import accounting_views, bankfeeds_views, control_views, identity_views, state_views

app_name = "xero_sandbox"

BF = "bankfeeds.xro/1.0/"
urlpatterns = [
    path("", state_views.index, name="index"),
    path("identity/connect/authorize", identity_views.authorize, name="authorize"),
    path("connect/token", identity_views.token, name="token"),
    path("connect/revocation", identity_views.revocation, name="revocation"),
    path("connections", identity_views.connections, name="connections"),
    path("Connections", identity_views.connections),
    path("connections/<str:connection_id>", identity_views.connection_detail, name="connection"),
    path("Connections/<str:connection_id>", identity_views.connection_detail),
    path(BF + "FeedConnections", bankfeeds_views.feed_connections, name="feed-connections"),
    path(BF + "FeedConnections/DeleteRequests", bankfeeds_views.delete_requests, name="feed-delete-requests"),
    path(BF + "FeedConnections/<str:feed_id>", bankfeeds_views.feed_connection_detail, name="feed-connection"),
    path(BF + "Statements", bankfeeds_views.statements, name="statements"),
    path(BF + "Statements/<str:statement_id>", bankfeeds_views.statement_detail, name="statement"),
    path("api.xro/2.0/Accounts", accounting_views.accounts, name="accounts"),
    path("api.xro/2.0/Organisation", accounting_views.organisation, name="organisation"),
    path("api.xro/2.0/Currencies", accounting_views.currencies, name="currencies"),
    path("_faults", control_views.fault_control, name="faults"),
    path("_control/disconnect", control_views.disconnect, name="control-disconnect"),
    path("_control/reject-statement", control_views.reject_statement, name="control-reject-statement"),
    path("organisations/", state_views.organisation_list, name="organisations"),
    path("organisations/<uuid:tenant_id>/", state_views.organisation_detail, name="organisation-page"),
    path("organisations.json", state_views.organisations_json, name="organisations-json"),
    path("apps.json", state_views.apps_json, name="apps-json"),
    path("organisations/<uuid:tenant_id>.json", state_views.organisation_json, name="organisation-json"),
]
