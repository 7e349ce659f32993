"""Refusals Django makes before any view (a Host not in ALLOWED_HOSTS, too many query
parameters) answer the partner API's paths with Codat's ErrorMessage, and the other pages
with Django's page. Issue #13, point 19 (gunicorn's own 400s come before Django: see
docs/SECURITY.md)."""

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


def test_too_many_query_parameters_is_an_error_message_under_the_api(partner_a):
    query = "&".join(f"p{i}=1" for i in range(1001))  # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
    response = partner_a.get(f"/api/companies?{query}")
    assert response.status_code == 400
    assert ERROR_MESSAGE_KEYS <= response.json().keys()
