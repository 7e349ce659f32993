"""Staff see connections in admin without their tokens, cannot edit what the OAuth flow
owns, and can refresh or revoke a connection through the services."""

import pytest
from django.contrib.auth import get_user_model

from apps.tenants.models import AuditEvent
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests.xero_helpers import grant as grant_of
from tests.xero_helpers import portal_app, sandbox_grant

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/xero_auth/xeroconnection/"


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.login(username="staff", password="pw")
    return client


def test_no_token_appears_on_the_admin_pages(staff, linked_connection):
    pages = [staff.get(CHANGELIST), staff.get(f"{CHANGELIST}{linked_connection.pk}/change/")]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "Demo Company (UK)" in html
        assert linked_connection.access_token not in html
        assert linked_connection.refresh_token not in html
        assert "access_token\"" not in html and "refresh_token\"" not in html


def test_staff_cannot_change_the_state_the_oauth_flow_owns(staff, linked_connection):
    url = f"{CHANGELIST}{linked_connection.pk}/change/"

    staff.post(url, {"status": "PendingAuth", "tenant_name": "Hacked", "access_token": "forged"})

    stored = XeroConnection.objects.get(pk=linked_connection.pk)
    assert (stored.status, stored.tenant_name) == (ConnectionStatus.LINKED, "Demo Company (UK)")
    assert stored.access_token == linked_connection.access_token
    assert staff.get(f"{CHANGELIST}add/").status_code == 403


def test_staff_refresh_a_token_now(staff, linked_connection):
    refreshes = portal_app()["refreshCount"]

    response = staff.post(CHANGELIST, {"action": "refresh_token_now", "_selected_action": [linked_connection.pk]},
                          follow=True)

    assert "token refreshed" in response.content.decode()
    assert portal_app()["refreshCount"] == refreshes + 1
    event = AuditEvent.objects.get(action="token refreshed")
    assert (event.actor_kind, event.actor, event.subject_id) == ("staff", "staff", str(linked_connection.pk))
    assert XeroConnection.objects.get(pk=linked_connection.pk).access_token != linked_connection.access_token


def test_revoking_asks_first_on_a_page_of_its_own(staff, linked_connection):
    grant = sandbox_grant(linked_connection)

    response = staff.post(CHANGELIST, {"action": "revoke", "_selected_action": [linked_connection.pk]})

    assert response.status_code == 200
    assert "Revoke Xero access?" in response.content.decode()
    assert 'name="post" value="yes"' in response.content.decode()
    assert not grant_of(grant["id"])["revoked"]
    assert XeroConnection.objects.get(pk=linked_connection.pk).status == ConnectionStatus.LINKED


def test_staff_revoke_a_connection_at_xero(staff, linked_connection):
    grant = sandbox_grant(linked_connection)

    # Confirmed on the revoke page ("post": "yes"), as Django's delete confirmation posts.
    response = staff.post(CHANGELIST, {"action": "revoke", "_selected_action": [linked_connection.pk], "post": "yes"},
                          follow=True)

    assert "revoked at Xero and unlinked" in response.content.decode()
    assert grant_of(grant["id"])["revoked"]
    stored = XeroConnection.objects.get(pk=linked_connection.pk)
    assert (stored.status, stored.refresh_token) == (ConnectionStatus.UNLINKED, "")


def test_refreshing_an_unlinked_connection_says_why_it_cannot(staff, linked_connection):
    staff.post(CHANGELIST, {"action": "revoke", "_selected_action": [linked_connection.pk], "post": "yes"})

    response = staff.post(CHANGELIST, {"action": "refresh_token_now", "_selected_action": [linked_connection.pk]},
                          follow=True)

    assert "The connection is Unlinked" in response.content.decode()
