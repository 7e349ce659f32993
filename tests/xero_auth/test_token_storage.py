"""Tokens at rest: encrypted with Fernet under TOKEN_ENCRYPTION_KEY, rotated with
MultiFernet and `rotate_token_key`, and never in logs."""

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection as db

from apps.xero_auth import connections, oauth, tokens
from apps.xero_auth.models import XeroConnection
from tests.xero_helpers import authorize, link

pytestmark = pytest.mark.django_db


def stored_tokens(connection) -> tuple[str, str]:
    """The token columns exactly as the database holds them."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT access_token, refresh_token FROM {XeroConnection._meta.db_table} WHERE id = %s",
                       [connection.pk])
        return cursor.fetchone()


def test_the_database_holds_no_plaintext_token(linked_connection):
    access, refresh = stored_tokens(linked_connection)

    assert linked_connection.access_token and linked_connection.refresh_token
    assert linked_connection.access_token not in access and linked_connection.refresh_token not in refresh
    assert Fernet(db_key()).decrypt(access.encode()).decode() == linked_connection.access_token
    assert Fernet(db_key()).decrypt(refresh.encode()).decode() == linked_connection.refresh_token


def db_key():
    from django.conf import settings

    return settings.TOKEN_ENCRYPTION_KEY.split(",")[0]


def test_after_rotation_the_old_key_still_decrypts_until_rotate_token_key(linked_connection, settings):
    old_key = settings.TOKEN_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    before = stored_tokens(linked_connection)

    settings.TOKEN_ENCRYPTION_KEY = f"{new_key},{old_key}"
    assert XeroConnection.objects.get(pk=linked_connection.pk).refresh_token == linked_connection.refresh_token
    assert stored_tokens(linked_connection) == before  # reading rewrites nothing

    call_command("rotate_token_key", stdout=open("/dev/null", "w"))

    after = stored_tokens(linked_connection)
    assert after != before
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(after[1].encode())
    settings.TOKEN_ENCRYPTION_KEY = new_key
    connection = XeroConnection.objects.get(pk=linked_connection.pk)
    assert (connection.access_token, connection.refresh_token) == (linked_connection.access_token,
                                                                   linked_connection.refresh_token)
    assert tokens.token_refresh(connection_id=connection.pk, force=True).refresh_token != connection.refresh_token


def test_a_token_encrypted_with_a_dropped_key_cannot_be_read(linked_connection, settings):
    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(InvalidToken):
        XeroConnection.objects.get(pk=linked_connection.pk)


def test_rotate_token_key_leaves_connections_without_tokens_alone(company, settings):
    pending = connections.connection_create(company=company)
    settings.TOKEN_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{settings.TOKEN_ENCRYPTION_KEY}"

    call_command("rotate_token_key", stdout=open("/dev/null", "w"))

    assert stored_tokens(pending) == ("", "")


def test_no_token_is_logged_while_connecting_and_refreshing(sandbox, company, caplog):
    caplog.set_level(logging.DEBUG)
    connection = connections.connection_create(company=company)
    session, query = authorize(connection)

    connection, organisations = oauth.oauth_callback(session=session, params=query)
    first = (connection.access_token, connection.refresh_token)
    connection = connections.connection_link(connection=connection, organisation=organisations[0])
    refreshed = tokens.token_refresh(connection_id=connection.pk, force=True)
    connections.company_information(connection=refreshed)
    second = (refreshed.access_token, refreshed.refresh_token)
    connections.connection_unlink(connection=refreshed)

    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert caplog.records, "expected the HTTP libraries to log at DEBUG"
    for token in (*first, *second, query["code"]):
        assert token not in logged


def test_a_connection_never_prints_its_tokens(linked_connection):
    text = f"{linked_connection} {linked_connection!r}"

    assert linked_connection.access_token not in text and linked_connection.refresh_token not in text


def test_linking_again_replaces_the_stored_tokens(linked_connection):
    connections.connection_unlink(connection=linked_connection)

    relinked = link(XeroConnection.objects.get(pk=linked_connection.pk))

    assert relinked.refresh_token and relinked.refresh_token != linked_connection.refresh_token
    assert stored_tokens(relinked)[1] != relinked.refresh_token
