import io

import pytest
from django.core.management import call_command

from apps.tenants.models import Partner, PartnerApiKey, hash_api_key

pytestmark = pytest.mark.django_db


def test_it_creates_a_partner_and_prints_the_key_last(client):
    out = io.StringIO()
    call_command("create_partner", "Acme Bank", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    partner = Partner.objects.get(name="Acme Bank")
    assert PartnerApiKey.objects.get(partner=partner).hashed_key == hash_api_key(raw_key)
    import base64

    auth = "Basic " + base64.b64encode(raw_key.encode()).decode()
    assert client.get("/api/companies", HTTP_AUTHORIZATION=auth).status_code == 200
