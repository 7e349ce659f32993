"""The OAuth callback's refusals: a state that is not this session's, a missing PKCE
verifier, a replayed callback, and an organisation another company already uses."""

import pytest

from apps.xero_auth import connections, oauth, refusals
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from tests import xero_helpers
from tests.factories import CompanyFactory
from tests.xero_helpers import AU, UK, authorize, link

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(sandbox, company):
    return connections.connection_create(company=company)


def code_used(query) -> bool:
    return xero_helpers.code_used(query["code"])


def assert_not_connected(connection):
    connection = XeroConnection.objects.get(pk=connection.pk)
    assert connection.status == ConnectionStatus.PENDING_AUTH
    assert connection.access_token == connection.refresh_token == ""


def test_the_authorize_url_asks_for_pkce_s256_and_a_state_bound_to_the_session(pending):
    session = {}

    url = oauth.oauth_start(connection=pending, session=session)

    stored = session[oauth.SESSION_KEY]
    assert stored["connection"] == str(pending.id)
    assert f"state={stored['state']}" in url
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    assert stored["verifier"] not in url


def test_a_state_that_is_not_this_sessions_is_refused(pending):
    session, query = authorize(pending)

    with pytest.raises(refusals.OAuthFailed, match="did not start here"):
        oauth.oauth_callback(session=session, params={**query, "state": "forged-state"})

    assert not code_used(query)
    assert_not_connected(pending)


def test_a_callback_without_state_is_refused(pending):
    session, query = authorize(pending)
    del query["state"]

    with pytest.raises(refusals.OAuthFailed, match="did not start here"):
        oauth.oauth_callback(session=session, params=query)

    assert_not_connected(pending)


def test_a_callback_in_another_browser_is_refused(pending):
    _, query = authorize(pending)

    with pytest.raises(refusals.OAuthFailed, match="did not start here"):
        oauth.oauth_callback(session={}, params=query)

    assert not code_used(query)


def test_a_missing_pkce_verifier_is_refused_before_calling_xero(pending):
    session, query = authorize(pending)
    del session[oauth.SESSION_KEY]["verifier"]

    with pytest.raises(refusals.OAuthFailed, match="did not start here"):
        oauth.oauth_callback(session=session, params=query)

    assert not code_used(query)
    assert_not_connected(pending)


def test_a_wrong_pkce_verifier_is_refused_by_xero(pending):
    session, query = authorize(pending)
    session[oauth.SESSION_KEY]["verifier"] = "x" * 64

    with pytest.raises(refusals.OAuthFailed, match="Xero could not complete the connection"):
        oauth.oauth_callback(session=session, params=query)

    assert_not_connected(pending)


def test_the_same_callback_cannot_be_used_twice(pending):
    session, query = authorize(pending)
    saved = dict(session)
    oauth.oauth_callback(session=session, params=query)

    with pytest.raises(refusals.OAuthFailed):
        oauth.oauth_callback(session=session, params=query)
    # Even replaying the session's old content: Xero refuses the used code.
    with pytest.raises(refusals.OAuthFailed, match="Xero could not complete"):
        oauth.oauth_callback(session=saved, params=query)


def test_a_callback_for_a_deleted_connection_is_refused(pending):
    session, query = authorize(pending)
    pending.delete()

    with pytest.raises(refusals.OAuthFailed, match="did not start here"):
        oauth.oauth_callback(session=session, params=query)


def test_an_organisation_linked_to_another_company_of_the_partner_is_refused(pending, partner_a):
    link(connections.connection_create(company=CompanyFactory(partner=partner_a.partner, name="First Co")))
    session, query = authorize(pending)
    connection, organisations = oauth.oauth_callback(session=session, params=query)

    with pytest.raises(refusals.OrganisationTaken) as refused:
        connections.connection_link(connection=connection, organisation=organisations[0])

    assert str(refused.value) == refusals.ORG_LINKED_ELSEWHERE.format(org=UK)
    assert "First Co" not in str(refused.value)  # another customer's company is never named
    assert XeroConnection.objects.get(pk=pending.pk).status == ConnectionStatus.PENDING_AUTH


def test_another_organisation_or_another_partner_is_not_refused(pending, partner_a, partner_b):
    link(connections.connection_create(company=CompanyFactory(partner=partner_a.partner, name="First Co")))

    assert link(pending, tenant=AU).status == ConnectionStatus.LINKED
    other = link(connections.connection_create(company=CompanyFactory(partner=partner_b.partner)))
    assert (other.status, other.tenant_name) == (ConnectionStatus.LINKED, UK)


def test_an_unlinked_company_does_not_hold_on_to_its_organisation(pending, partner_a):
    first = link(connections.connection_create(company=CompanyFactory(partner=partner_a.partner)))
    connections.connection_unlink(connection=first)

    assert link(pending).status == ConnectionStatus.LINKED
