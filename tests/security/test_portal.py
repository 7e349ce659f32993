"""Portal controls: every company page is covered by the isolation and CSRF tests,
sign-in is rate-limited, pages cannot be framed, and admin is for staff only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from apps.mapping_ui import urls as portal_urls
from tests.factories import UserFactory
from tests.mapping_ui import test_access, test_csrf
from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db


def company_routes():
    return {p.name for p in portal_urls.urlpatterns if "company_id" in str(p.pattern)}


def test_every_company_page_is_in_the_isolation_tests():
    # tests/mapping_ui/test_access.py asks each of these for another company and expects 404.
    covered = set(test_access.COMPANY_PAGES) | set(test_access.COMPANY_POSTS) | {"feed_disconnect"}
    assert company_routes() <= covered, company_routes() - covered


def test_every_portal_form_is_in_the_csrf_tests():
    # tests/mapping_ui/test_csrf.py posts to each of these without a token and expects 403.
    posting = {"save_access", "xero_connect", "xero_pick", "mapping", "mapping_run", "mapping_run_one",
               "feed_disconnect"}
    assert posting <= set(test_csrf.POSTS) | {"feed_disconnect"}
    assert company_routes() - posting == {"company", "mapping_confirm", "mapping_done", "manage"}  # GET only


@pytest.mark.parametrize("name", ["mapping_confirm", "mapping_done", "manage", "company"])
def test_read_only_pages_refuse_a_post_without_the_token(connection, company, name):
    browser = Client(enforce_csrf_checks=True)
    browser.get(path_of(connection.link_url()))
    assert browser.post(reverse(f"portal:{name}", args=[company.pk])).status_code == 403


def test_after_five_wrong_passwords_from_one_address_the_sixth_attempt_is_refused_even_when_right():
    user = UserFactory()
    browser = Client(REMOTE_ADDR="203.0.113.9")
    for attempt in range(5):
        response = browser.post(reverse("account_login"), {"login": f"guess{attempt}@smb.example",
                                                          "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    response = browser.post(reverse("account_login"), {"login": user.email, "password": "correct horse battery"})
    assert refused(response)
    assert "_auth_user_id" not in browser.session
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post(reverse("account_login"), {"login": user.email,
                                                      "password": "correct horse battery"}).status_code == 302


def test_after_five_wrong_passwords_for_one_account_it_is_refused_from_any_address():
    user = UserFactory()
    for attempt in range(5):
        Client(REMOTE_ADDR=f"203.0.113.{attempt + 1}").post(reverse("account_login"),
                                                            {"login": user.email, "password": "wrong"})
    response = Client(REMOTE_ADDR="198.51.100.7").post(reverse("account_login"),
                                                        {"login": user.email, "password": "correct horse battery"})
    assert refused(response)


def refused(response) -> bool:
    """allauth's answer once login_failed's limit is reached: the form again, with its
    "too many failed login attempts" error, and no session (the `login` limit would be a 429)."""
    return response.status_code == 200 and b"Too many failed login attempts" in response.content


@pytest.mark.parametrize("name", ["company", "manage"])
def test_portal_pages_cannot_be_framed_or_sniffed(visitor, company, name):
    response = visitor.get(reverse(f"portal:{name}", args=[company.pk]), follow=True)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_login_page_cannot_be_framed(client):
    response = client.get(reverse("account_login"))
    assert response["X-Frame-Options"] == "DENY"


@pytest.fixture
def visitor(client, connection):
    assert client.get(path_of(connection.link_url())).status_code == 302
    return client


@pytest.mark.parametrize("page", ["/admin/", "/admin/tenants/partnerapikey/", "/admin/xero_auth/xeroconnection/",
                                  "/admin/feeds/pushoperation/"])
def test_admin_is_for_staff_only(client, page):
    assert client.get(page).status_code == 302  # anonymous: to the login page
    portal_user = UserFactory()
    client.force_login(portal_user)
    response = client.get(page)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = get_user_model().objects.create_user("ops", "ops@bank.example", "pw", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(page).status_code == 200
