import base64

import pytest
from rest_framework.test import APIClient

from apps.tenants.models import PartnerApiKey

pytestmark = pytest.mark.django_db


def call(authorization):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/api/companies")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"bfk_unknown").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_missing_malformed_or_unknown_keys_are_401(partner_a, authorization):
    response = call(authorization)
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401
    assert response.json()["error"] == "Unauthorized"


def test_a_revoked_key_is_401(partner_a):
    PartnerApiKey.objects.get(partner=partner_a.partner).revoke()
    assert partner_a.get("/api/companies").status_code == 401


def test_a_valid_key_is_accepted_and_its_use_recorded(partner_a):
    assert partner_a.get("/api/companies").status_code == 200
    assert PartnerApiKey.objects.get(partner=partner_a.partner).last_used_at is not None


def test_keys_are_stored_hashed(partner_a):
    key = PartnerApiKey.objects.get(partner=partner_a.partner)
    assert partner_a.raw_key not in key.hashed_key
    assert key.prefix == partner_a.raw_key[:12]
