"""`make demo` seeds a branded partner, a company with a pending connection and three
source accounts in two currencies, a portal user and a staff user — and can run again."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.tenants.models import Company, Partner, PartnerApiKey

pytestmark = pytest.mark.django_db


def test_the_demo_seed_is_complete_and_can_run_twice(settings, client):
    call_command("demo_seed", verbosity=0)
    call_command("demo_seed", verbosity=0)
    partner = Partner.objects.get(slug="demo-bank")
    assert partner.primary_colour and partner.logo_url and partner.return_url
    assert PartnerApiKey.objects.filter(partner=partner, revoked_at__isnull=True).count() == 1
    company = Company.objects.get(partner=partner, name="Demo Coffee Roasters")
    connection = company.connections.get()
    assert connection.status == "PendingAuth"
    assert connection.source_accounts.count() == 3
    assert set(connection.source_accounts.values_list("currency", flat=True)) == {"GBP", "EUR"}
    assert get_user_model().objects.get(username="staff").is_staff
    raw_key = (settings.BASE_DIR / "var" / "demo-key").read_text().strip()
    import base64

    auth = "Basic " + base64.b64encode(raw_key.encode()).decode()
    assert client.get("/api/companies", HTTP_AUTHORIZATION=auth).json()["totalResults"] == 1
    assert client.login(username="smb", password="demo-password-123")
