"""Entry by linkUrl: signed, 24 hours, single use; then a normal session."""

import time

import pytest
from django.core import signing
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


def test_a_second_use_is_refused(client, connection):
    url = path_of(connection.link_url())
    client.get(url)
    response = client.get(url)
    assert response.status_code == 410
    assert "This link can no longer be used" in response.content.decode()


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
    client.get(url)  # the refused second use does not take the company away
    assert client.get(reverse("portal:company", args=[company.pk])).status_code == 200
