"""Sign-in that works: "Forgot your password?" sends an e-mail, allauth's pages look like the
portal, and "Sign out" shows right after "Save my sign-in"."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_forgot_your_password_sends_a_reset_link(client, company):
    member = MembershipFactory(company=company).user
    login = client.get(reverse("account_login")).content.decode()
    assert f'href="{reverse("account_reset_password")}"' in login

    page = client.get(reverse("account_reset_password"))
    assert page.status_code == 200
    assert 'class="card narrow auth"' in page.content.decode()  # the portal's card, not allauth's bare page

    response = client.post(reverse("account_reset_password"), {"email": member.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "/portal/accounts/password/reset/key/" in mail.outbox[0].body


def test_allauth_pages_carry_the_partners_branding(visitor, company):
    html = visitor.get(reverse("account_reset_password")).content.decode()
    assert "--brand: #0f766e;" in html
    assert "Alpha Business" in html
    assert 'class="stack"' in html and "<button" in html


def test_sign_out_shows_right_after_save_my_sign_in(visitor, company):
    response = visitor.post(reverse("portal:save_access", args=[company.pk]),
                            {"email": "owner@smb.example", "password1": "a long passphrase 42",
                             "password2": "a long passphrase 42"}, HTTP_HX_REQUEST="true")

    # A whole page load, not a swap of the content alone: the header changes too.
    assert response["HX-Redirect"] == reverse("portal:company", args=[company.pk])
    header = visitor.get(response["HX-Redirect"]).content.decode().split("</header>")[0]
    assert "owner@smb.example" in header
    assert "Sign out" in header
