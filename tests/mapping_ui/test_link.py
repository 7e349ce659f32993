"""Entry by linkUrl: signed, 24 hours, used up by the visitor's first step (a POST), not by
opening it (an e-mail scanner's GET); then a normal session."""

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db


def test_it_opens_the_company_and_keeps_the_session(client, connection, company):
    response = client.get(path_of(connection.link_url()))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:company", args=[company.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Acme Coffee Ltd" in page.content


def test_a_link_is_used_up_by_the_first_step(client, connection, company):
    url = path_of(connection.link_url())
    client.get(url)
    client.post(reverse("portal:xero_connect", args=[company.pk]))
    response = Client().get(url)
    assert response.status_code == 410
    assert "This link can no longer be used" in response.content.decode()


def test_opening_a_link_leaves_it_usable_as_an_email_scanner_does(client, connection, company):
    url = path_of(connection.link_url())
    scanner = Client()
    assert scanner.get(url).status_code == 302
    assert scanner.get(reverse("portal:company", args=[company.pk])).status_code == 200  # a GET uses nothing up
    assert client.get(url).status_code == 302  # the person, later
    assert client.post(reverse("portal:xero_connect", args=[company.pk])).status_code == 302


def test_a_browser_whose_link_was_used_up_elsewhere_loses_the_company(client, connection, company):
    url = path_of(connection.link_url())
    scanner = Client()
    scanner.get(url)
    client.get(url)
    client.post(reverse("portal:xero_connect", args=[company.pk]))  # the person takes the first step

    response = scanner.post(reverse("portal:xero_connect", args=[company.pk]))
    assert response.status_code == 410
    assert scanner.get(reverse("portal:company", args=[company.pk])).status_code == 302  # to sign in
    assert client.get(reverse("portal:company", args=[company.pk])).status_code == 200


def test_a_link_older_than_24_hours_is_refused(client, connection, monkeypatch):
    issued = time.time() - 24 * 3600 - 60
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    url = path_of(connection.link_url())
    monkeypatch.undo()
    response = client.get(url)
    assert response.status_code == 410


def test_a_link_just_under_24_hours_still_works(client, connection, monkeypatch):
    issued = time.time() - 23 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    url = path_of(connection.link_url())
    monkeypatch.undo()
    assert client.get(url).status_code == 302


def test_reading_the_link_after_24_hours_issues_a_new_one(client, connection):
    old = path_of(connection.link_url())
    stale = timezone.now() - timezone.timedelta(hours=25)
    type(connection).objects.filter(pk=connection.pk).update(link_issued_at=stale)
    connection.refresh_from_db()
    new = path_of(connection.link_url())
    assert new != old
    assert client.get(old).status_code == 410
    assert client.get(new).status_code == 302


def test_a_tampered_link_is_refused(client, connection):
    url = path_of(connection.link_url())
    assert client.get(url[:-3] + "xx/").status_code == 410


def test_the_session_survives_the_used_link(client, connection, company):
    url = path_of(connection.link_url())
    client.get(url)
    client.post(reverse("portal:xero_connect", args=[company.pk]))
    assert client.get(url).status_code == 410  # the refused second use does not take the company away
    assert client.get(reverse("portal:company", args=[company.pk])).status_code == 200
