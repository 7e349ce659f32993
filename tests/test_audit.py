"""The audit log names who changed a connection, a feed or a source account: the
partner's API key, the portal user, staff, or Xero; admin and the portal show it."""

import pytest
import requests
from django.contrib.auth import get_user_model

from apps.tenants.models import AuditEvent
from apps.xero_auth.models import XeroConnection
from tests.factories import CompanyFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("created", "pk").values_list(
        "actor_kind", "subject", "action"))


def test_a_partner_creating_a_connection_is_recorded_with_its_key(partner_a):
    company = CompanyFactory(partner=partner_a.partner)
    response = partner_a.post(f"/api/companies/{company.id}/connections", {"platformKey": "gbol"}, format="json")
    assert response.status_code == 200
    event = AuditEvent.objects.get(company=company)
    assert (event.actor_kind, event.subject, event.action) == ("partner", "connection", "created")
    assert partner_a.raw_key[:12] in event.actor
    assert partner_a.raw_key not in event.actor


def test_source_account_changes_by_the_partner_are_recorded(partner_a, linked_connection):
    base = f"/api/companies/{linked_connection.company_id}/connections/{linked_connection.id}/connectionInfo"
    partner_a.post(f"{base}/bankFeedAccounts", {"id": "a1", "accountName": "Current", "accountType": "checking",
                                                "accountNumber": "12345678", "sortCode": "40-00-00",
                                                "currency": "GBP", "balance": 10}, format="json")
    partner_a.patch(f"{base}/bankFeedAccounts/a1", {"accountName": "Main"}, format="json")
    partner_a.delete(f"{base}/bankFeedAccounts/a1")
    assert events(subject="source account") == [("partner", "source account", "created"),
                                                ("partner", "source account", "updated"),
                                                ("partner", "source account", "deleted")]


def test_a_portal_user_disconnecting_a_feed_is_recorded_and_shown_on_the_manage_page(client, connected_account):
    company = connected_account.connection.company
    user = MembershipFactory(company=company).user
    client.force_login(user)
    response = client.post(f"/portal/companies/{company.id}/feeds/{connected_account.pk}/disconnect")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="feed disconnected")
    assert (event.actor_kind, event.actor) == ("portal_user", user.email)
    page = client.get(f"/portal/companies/{company.id}/feeds/").content.decode()
    assert "Recent changes" in page
    # The audit line as a sentence naming the account (translated), not the raw action.
    assert "Business Current stopped sending to Xero" in page


def test_staff_revoking_from_admin_is_recorded(client, linked_connection):
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "pw")
    client.login(username="ops", password="pw")
    client.post("/admin/xero_auth/xeroconnection/", {"action": "revoke", "_selected_action": [linked_connection.pk],
                                                      "post": "yes"})
    event = AuditEvent.objects.get(action="unlinked")
    assert (event.actor_kind, event.actor) == ("staff", "ops")
    page = client.get(f"/admin/tenants/company/{linked_connection.company_id}/change/").content.decode()
    assert "unlinked" in page


def test_xero_deauthorising_a_connection_is_recorded_as_xero(linked_connection, live_server):
    from apps.xero_auth import refusals, tokens

    XeroConnection.objects.filter(pk=linked_connection.pk).update(access_token_expires_at=None)
    requests.post(f"{live_server.url}/xero-sandbox/_faults", json={"operation": "connect/token",
                                                                    "mode": "invalid_grant"}, timeout=10)
    with pytest.raises(refusals.ConnectionNotLinked):
        tokens.access_token_for(XeroConnection.objects.get(pk=linked_connection.pk))
    event = AuditEvent.objects.get(action="deauthorized")
    assert (event.actor_kind, event.actor) == ("xero", "Xero")
