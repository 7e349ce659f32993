"""CSRF is enforced on every portal form, plain or htmx."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.feeds.models import SourceAccount
from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db

POSTS = ["save_access", "xero_connect", "xero_pick", "mapping", "mapping_run", "mapping_run_one"]


@pytest.fixture
def strict(connection):
    browser = Client(enforce_csrf_checks=True)
    browser.get(path_of(connection.link_url()))
    return browser


@pytest.mark.parametrize("name", POSTS)
def test_a_post_without_the_token_is_refused(strict, company, name):
    response = strict.post(reverse(f"portal:{name}", args=[company.pk]), {"account": "x"})
    assert response.status_code == 403


def test_disconnect_without_the_token_is_refused(strict, company, connection):
    source = SourceAccount.objects.create(connection=connection, account_id="a", currency="GBP", status="connected")
    response = strict.post(reverse("portal:feed_disconnect", args=[company.pk, source.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.status == "connected"


def test_the_token_from_the_page_is_accepted(strict, company):
    page = strict.get(reverse("portal:company", args=[company.pk]))
    token = str(page.context["csrf_token"])
    assert f'"x-csrftoken": "{token}"' in page.content.decode()  # htmx sends it as a header
    response = strict.post(reverse("portal:save_access", args=[company.pk]),
                           {"email": "new@smb.example", "password1": "a long passphrase 42",
                            "password2": "a long passphrase 42"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302


def test_the_login_form_enforces_csrf(connection):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(reverse("account_login"), {"login": "a@b.example", "password": "x"}).status_code == 403
