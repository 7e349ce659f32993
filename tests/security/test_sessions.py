"""Session fixation: opening a portal link gives the browser a new session key, so a
session id planted beforehand (by a link to this site with a cookie set, a shared
computer) never gains the company. Issue #13, point 10."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db


def planted_session() -> str:
    """A session the attacker made on the site and knows the key of."""
    session = SessionStore()
    session["planted"] = True
    session.save()
    return session.session_key


def test_opening_a_portal_link_gives_the_browser_a_new_session_key(company, connection):
    planted = planted_session()
    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted
    response = victim.get(path_of(connection.link_url()))
    assert response.status_code == 302
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert victim.get(reverse("portal:company", args=[company.pk])).status_code == 200

    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    # The planted key names no session any more: the attacker is sent to sign in.
    refused = attacker.get(reverse("portal:company", args=[company.pk]))
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("account_login"))


def test_the_new_session_keeps_the_companies_the_browser_had(company, connection, other_company):
    browser = Client()
    browser.get(path_of(connection.link_url()))
    first_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    browser.get(path_of(other_company.connections.get().link_url()))
    assert browser.cookies[settings.SESSION_COOKIE_NAME].value != first_key
    assert browser.get(reverse("portal:company", args=[company.pk])).status_code == 200
    assert browser.get(reverse("portal:company", args=[other_company.pk])).status_code == 200
