"""The partner API is not a page: it keeps no session, sets no cookie, and answers in
English whatever the caller's Accept-Language or the language a page served before on the
same thread left active (apps/core/middleware.py). Pages keep theirs."""

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_an_api_answer_is_english_without_session_or_language_headers(partner_a):
    translation.activate("fr")  # as a French portal page served on this thread would leave it
    try:
        response = partner_a.post("/api/companies", {"description": "no name"}, format="json",
                                  HTTP_ACCEPT_LANGUAGE="fr")
    finally:
        translation.deactivate()

    assert response.status_code == 400
    assert "This field is required." in response.content.decode(), response.content
    assert "Content-Language" not in response
    assert "Accept-Language" not in response.get("Vary", "") and "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_a_page_still_has_its_session_language_and_csrf():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/portal/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr")

    assert page.status_code == 200
    assert page["Content-Language"] == "fr"
    assert "csrftoken" in page.cookies
    refused = browser.post("/portal/accounts/login/", {"login": "x@example.com", "password": "y"})
    assert refused.status_code == 403  # no CSRF token: refused
