import pytest
from django.contrib.auth import get_user_model

from apps.tenants.models import PartnerApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.login(username="staff", password="pw")
    return client


def test_staff_creates_a_key_and_sees_it_once(staff_client, partner_a):
    response = staff_client.post(
        "/admin/tenants/partnerapikey/add/", {"partner": partner_a.partner.pk, "name": "ops"}, follow=True)
    shown = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    assert len(shown) == 1
    raw = shown[0].split(": ", 1)[1].split(" ")[0]
    key = PartnerApiKey.objects.get(name="ops")
    assert key.prefix == raw[:12]
    page = staff_client.get(f"/admin/tenants/partnerapikey/{key.pk}/change/")
    assert raw not in page.content.decode()


def test_staff_revokes_a_key_and_the_partner_is_locked_out(staff_client, partner_a):
    key = PartnerApiKey.objects.get(partner=partner_a.partner)
    staff_client.post("/admin/tenants/partnerapikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert partner_a.get("/api/companies").status_code == 401


def test_the_company_list_renders(staff_client, partner_a):
    from tests.factories import CompanyFactory

    CompanyFactory(partner=partner_a.partner, name="Listed Co")
    assert "Listed Co" in staff_client.get("/admin/tenants/company/").content.decode()
