"""The control path that disconnects an app from an organisation as a user does in
Xero's settings, seen over HTTP."""

import pytest
import requests

from apps.xero_sandbox.services import app_register

from .conftest import AU, REDIRECT, UK, Sandbox

pytestmark = pytest.mark.django_db

FC = "bankfeeds.xro/1.0/FeedConnections"


def disconnect(sandbox, **body) -> requests.Response:
    return requests.post(f"{sandbox.url}/_control/disconnect", json=body, timeout=10)


def connected_tenants(sandbox, access) -> set[str]:
    response = sandbox.api("GET", "connections", token=access, tenant=None)
    assert response.status_code == 200
    return {row["tenantName"] for row in response.json()}


def test_disconnecting_one_of_two_organisations_keeps_the_other(sandbox):
    tokens = sandbox.connect(tenants=(UK, AU))
    access = tokens["access_token"]
    response = disconnect(sandbox, tenantId=sandbox.tenant(UK), clientId="test-client")
    assert response.status_code == 200
    assert response.json() == {
        "tenantId": sandbox.tenant(UK),
        "clientId": "test-client",
        "connectionsRemoved": 1,
        "grantsRevoked": 0,
    }
    refused = sandbox.api("GET", FC, token=access, contract=False)
    assert refused.status_code == 403
    assert refused.json()["Detail"] == "AuthenticationUnsuccessful"
    assert connected_tenants(sandbox, access) == {AU}
    assert sandbox.api("GET", FC, token=access, tenant=AU).status_code == 200
    refresh = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 200


def test_disconnecting_the_last_organisation_revokes_the_grant(sandbox, tokens):
    response = disconnect(sandbox, tenantId=sandbox.tenant(UK))
    assert response.json() == {
        "tenantId": sandbox.tenant(UK),
        "clientId": None,
        "connectionsRemoved": 1,
        "grantsRevoked": 1,
    }
    assert sandbox.api("GET", FC, token=tokens["access_token"], contract=False).status_code == 401
    refresh = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant"}


def test_every_consent_of_the_app_to_the_organisation_goes(sandbox):
    first, second = sandbox.connect()["access_token"], sandbox.connect()["access_token"]
    assert disconnect(sandbox, tenantId=sandbox.tenant(UK)).json()["connectionsRemoved"] == 2
    for access in (first, second):
        assert sandbox.api("GET", FC, token=access, contract=False).status_code == 401


def test_only_the_named_app_is_disconnected(sandbox):
    other_app = app_register(name="Other", redirect_uris=[REDIRECT], client_id="other", client_secret="other-secret")
    other = Sandbox(sandbox.base, other_app, list(sandbox.orgs.values()), sandbox.contract)
    mine, theirs = sandbox.connect()["access_token"], other.connect()["access_token"]
    assert disconnect(sandbox, tenantId=sandbox.tenant(UK), clientId="test-client").json()["connectionsRemoved"] == 1
    assert sandbox.api("GET", FC, token=mine, contract=False).status_code == 401
    assert other.api("GET", FC, token=theirs).status_code == 200


def test_feed_connections_stay_for_when_the_user_connects_again(sandbox, access, feed):
    assert disconnect(sandbox, tenantId=sandbox.tenant(UK)).status_code == 200
    again = sandbox.connect()["access_token"]
    listing = sandbox.api("GET", FC, token=again)
    assert [item["id"] for item in listing.json()["items"]] == [feed]


def test_nothing_connected_is_zero_removed(sandbox, tokens):
    response = disconnect(sandbox, tenantId=sandbox.tenant(AU))
    assert response.status_code == 200
    assert (response.json()["connectionsRemoved"], response.json()["grantsRevoked"]) == (0, 0)
    assert connected_tenants(sandbox, tokens["access_token"]) == {UK}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"tenantId": "not-a-guid"}, 400),
        ({"tenantId": "00000000-0000-0000-0000-000000000001"}, 404),
        ({"tenantId": UK, "clientId": "nobody"}, 404),
    ],
    ids=["no-tenant", "bad-tenant", "unknown-tenant", "unknown-client"],
)
def test_a_bad_request_says_why(sandbox, tokens, body, status):
    if body.get("tenantId") in sandbox.orgs:
        body = {**body, "tenantId": sandbox.tenant(body["tenantId"])}
    response = disconnect(sandbox, **body)
    assert response.status_code == status
    assert response.json()["error"]
    assert connected_tenants(sandbox, tokens["access_token"]) == {UK}


def test_only_post_is_allowed(sandbox):
    assert requests.get(f"{sandbox.url}/_control/disconnect", timeout=10).status_code == 405
