"""Refusals Django makes before any view (a Host not in ALLOWED_HOSTS) answer the partner
API's paths with Codat's ErrorMessage, and the other pages with Django's page. Issue #13,
point 19 (gunicorn's own 400s come before Django: see docs/SECURITY.md)."""

import pytest

pytestmark = pytest.mark.django_db

ERROR_MESSAGE_KEYS = {"statusCode", "service", "error", "correlationId", "canBeRetried", "detailedErrorCode"}


@pytest.mark.parametrize("path", ["/api/companies", "/api/companies/x/push", "/api/nowhere"])
def test_a_host_not_allowed_is_an_error_message_under_the_api(client, path):
    response = client.get(path, HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert ERROR_MESSAGE_KEYS <= body.keys() and body["statusCode"] == 400 and body["canBeRetried"] == "False"


def test_a_host_not_allowed_is_a_page_elsewhere(client):
    response = client.get("/portal/accounts/login/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
