"""Portal users see only their own companies: any other company's page is a 404."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.feeds.models import SourceAccount
from apps.tenants.models import CompanyMembership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMPANY_PAGES = ["company", "save_access", "xero_pick", "mapping", "mapping_confirm", "mapping_done", "manage"]
COMPANY_POSTS = ["save_access", "xero_connect", "xero_pick", "mapping", "mapping_run", "mapping_run_one"]


@pytest.fixture
def other_source(other_company):
    return SourceAccount.objects.create(connection=other_company.connections.first(), account_id="b-1",
                                        currency="GBP", status="connected")


@pytest.mark.parametrize("name", COMPANY_PAGES)
def test_another_companys_page_is_a_404(visitor, other_company, name):
    assert visitor.get(reverse(f"portal:{name}", args=[other_company.pk])).status_code == 404


@pytest.mark.parametrize("name", COMPANY_POSTS)
def test_posting_to_another_company_is_a_404(visitor, other_company, name):
    assert visitor.post(reverse(f"portal:{name}", args=[other_company.pk]), {"account": "b-1"}).status_code == 404


def test_another_companys_feed_cannot_be_disconnected(visitor, other_company, other_source):
    url = reverse("portal:feed_disconnect", args=[other_company.pk, other_source.pk])
    assert visitor.get(url).status_code == 404
    assert visitor.post(url).status_code == 404
    other_source.refresh_from_db()
    assert other_source.status == "connected"


def test_a_feed_of_another_company_under_my_company_is_a_404(visitor, company, other_source):
    url = reverse("portal:feed_disconnect", args=[company.pk, other_source.pk])
    assert visitor.post(url).status_code == 404


@pytest.mark.parametrize("name", COMPANY_PAGES)
def test_a_browser_without_a_session_is_asked_to_sign_in_and_comes_back(client, company, name):
    url = reverse(f"portal:{name}", args=[company.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_the_sign_in_redirect_does_not_tell_a_company_from_a_made_up_id(client, company):
    made_up = reverse("portal:company", args=["6b1a9b9e-0000-4c33-9d41-0a4a1b2c3d99"])
    real = reverse("portal:company", args=[company.pk])
    assert client.get(made_up).status_code == client.get(real).status_code == 302


@pytest.mark.parametrize("name", COMPANY_PAGES)
def test_a_signed_in_user_who_is_not_a_member_gets_404(client, company, name):
    client.force_login(UserFactory())
    assert client.get(reverse(f"portal:{name}", args=[company.pk])).status_code == 404


def test_a_member_signs_in_by_email_and_sees_only_their_company(company, other_company):
    user = UserFactory()
    CompanyMembership.objects.create(user=user, company=company)
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": user.email, "password": "correct horse battery"})
    assert response.status_code == 302
    assert browser.get(reverse("portal:company", args=[company.pk])).status_code == 200
    assert browser.get(reverse("portal:company", args=[other_company.pk])).status_code == 404
    assert browser.get(reverse("portal:home")).url == reverse("portal:company", args=[company.pk])
