import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.xero_sandbox.models import AccessToken, Grant, RefreshToken, SandboxApp

from .conftest import AU, REDIRECT, UK

pytestmark = pytest.mark.django_db


def test_it_exchanges_a_code_for_tokens_with_scope(sandbox):
    body = sandbox.connect()
    assert body["expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid offline_access bankfeeds accounting.settings.read"
    assert body["refresh_token"]
    assert body["access_token"]


def test_it_accepts_client_credentials_in_the_body(sandbox):
    query = sandbox.authorize()
    data = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
    response = sandbox.token(data, basic=False)
    assert response.status_code == 200


def test_it_rejects_a_wrong_secret_with_invalid_client(sandbox):
    query = sandbox.authorize()
    data = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
    response = sandbox.token(data, secret="nope")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_it_rejects_an_unknown_grant_type(sandbox):
    assert sandbox.token({"grant_type": "password"}).json() == {"error": "unsupported_grant_type"}


def test_it_refuses_a_reused_code(sandbox):
    query = sandbox.authorize()
    data = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
    assert sandbox.token(data).status_code == 200
    again = sandbox.token(data)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}


def test_it_refuses_a_different_redirect_uri_at_exchange(sandbox):
    query = sandbox.authorize()
    data = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT + "x"}
    assert sandbox.token(data).json() == {"error": "invalid_grant"}


def test_pkce_requires_the_right_verifier(sandbox):
    verifier = "v" * 50
    query = sandbox.authorize(pkce_verifier=verifier)
    base = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
    assert sandbox.token(base).json() == {"error": "invalid_grant"}  # missing verifier
    assert sandbox.token({**base, "code_verifier": "w" * 50}).json() == {"error": "invalid_grant"}
    assert sandbox.token({**base, "code_verifier": verifier}).status_code == 200


def test_it_shows_an_error_page_for_an_unregistered_redirect(sandbox):
    params = sandbox.authorize_params(redirect_uri="https://evil.example/cb")
    response = sandbox.http.get(f"{sandbox.url}/identity/connect/authorize", params=params, allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_it_redirects_access_denied_on_cancel(sandbox):
    query = sandbox.authorize(sandbox_approve=["deny"])
    assert query["error"] == "access_denied"
    assert query["state"].startswith("st-")


def test_the_consent_page_allows_with_a_form(sandbox):
    params = sandbox.authorize_params()
    del params["sandbox_approve"]
    url = f"{sandbox.url}/identity/connect/authorize"
    page = sandbox.http.get(url, params=params)
    assert page.status_code == 200
    assert "Xero sandbox" in page.text
    assert AU in page.text
    csrf = sandbox.http.cookies["csrftoken"]
    form = {**params, "csrfmiddlewaretoken": csrf, "decision": "allow", "tenant": sandbox.tenant(UK)}
    response = sandbox.http.post(url, data=form, headers={"Referer": url}, allow_redirects=False)
    assert response.status_code == 302
    assert "code=" in response.headers["Location"]


def test_the_consent_page_ticks_no_organisation(sandbox):
    params = sandbox.authorize_params()
    del params["sandbox_approve"]
    page = sandbox.http.get(f"{sandbox.url}/identity/connect/authorize", params=params)
    assert page.status_code == 200
    boxes = re.findall(r'<input type="checkbox" name="tenant"[^>]*>', page.text)
    assert len(boxes) == 2
    assert not [box for box in boxes if "checked" in box]


def test_allowing_without_an_organisation_is_refused_on_the_page(sandbox):
    params = sandbox.authorize_params()
    del params["sandbox_approve"]
    url = f"{sandbox.url}/identity/connect/authorize"
    sandbox.http.get(url, params=params)
    form = {**params, "csrfmiddlewaretoken": sandbox.http.cookies["csrftoken"], "decision": "allow"}
    response = sandbox.http.post(url, data=form, headers={"Referer": url}, allow_redirects=False)
    assert response.status_code == 400
    assert "Choose at least one organisation." in response.text


def test_auto_approve_picks_the_first_organisation(sandbox, settings):
    settings.XERO_SANDBOX_AUTO_APPROVE = True
    params = sandbox.authorize_params()
    del params["sandbox_approve"]
    response = sandbox.http.get(f"{sandbox.url}/identity/connect/authorize", params=params, allow_redirects=False)
    assert response.status_code == 302
    assert "code=" in response.headers["Location"]


def test_refresh_rotates_and_counts(sandbox, tokens):
    first = tokens["refresh_token"]
    response = sandbox.token({"grant_type": "refresh_token", "refresh_token": first})
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != first
    assert body["scope"]
    assert SandboxApp.objects.get(client_id="test-client").refresh_count == 1


def test_the_previous_refresh_token_works_for_30_minutes_only(sandbox, tokens):
    first = tokens["refresh_token"]
    assert sandbox.token({"grant_type": "refresh_token", "refresh_token": first}).status_code == 200
    assert sandbox.token({"grant_type": "refresh_token", "refresh_token": first}).status_code == 200
    RefreshToken.objects.filter(token=first).update(first_used_at=timezone.now() - timedelta(minutes=31))
    late = sandbox.token({"grant_type": "refresh_token", "refresh_token": first})
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_grant"}


def test_an_unused_refresh_token_expires_after_60_days(sandbox, tokens):
    RefreshToken.objects.filter(token=tokens["refresh_token"]).update(created_at=timezone.now() - timedelta(days=61))
    response = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert response.json() == {"error": "invalid_grant"}


def test_connections_lists_the_grant_tenants_in_xero_shape(sandbox):
    access = sandbox.connect(tenants=(UK, AU))["access_token"]
    for path in ("connections", "Connections"):
        response = sandbox.api("GET", path, token=access, tenant=None)
        assert response.status_code == 200
        rows = response.json()
        assert {r["tenantName"] for r in rows} == {UK, AU}
        assert all(r["tenantType"] == "ORGANISATION" for r in rows)
        assert all(r["authEventId"] for r in rows)


def test_an_expired_access_token_is_401(sandbox, access):
    AccessToken.objects.filter(token=access).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = sandbox.api("GET", "connections", token=access, tenant=None, contract=False)
    assert response.status_code == 401
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: AccessToken.objects.filter(token=t).update(expires_at=timezone.now() - timedelta(seconds=1)),
        lambda t: AccessToken.objects.filter(token=t).update(revoked_at=timezone.now()),
        lambda t: Grant.objects.filter(access_tokens__token=t).update(revoked_at=timezone.now()),
    ],
    ids=["expired", "revoked", "grant-revoked"],
)
def test_an_unusable_token_for_a_connected_tenant_is_401_on_the_api(sandbox, access, spoil):
    assert sandbox.api("GET", "bankfeeds.xro/1.0/FeedConnections", token=access).status_code == 200
    spoil(access)
    response = sandbox.api("GET", "bankfeeds.xro/1.0/FeedConnections", token=access, contract=False)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "X-MinLimit-Remaining" not in response.headers


def test_deleting_the_last_connection_stops_the_tokens(sandbox, tokens):
    access = tokens["access_token"]
    conn = sandbox.api("GET", "connections", token=access, tenant=None).json()[0]
    response = sandbox.api("DELETE", f"Connections/{conn['id']}", token=access, tenant=None)
    assert response.status_code == 204
    assert sandbox.api("GET", "connections", token=access, tenant=None, contract=False).status_code == 401
    refresh = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json() == {"error": "invalid_grant"}


def test_revocation_kills_refresh_and_access_tokens(sandbox, tokens):
    response = sandbox.http.post(
        f"{sandbox.url}/connect/revocation", data={"token": tokens["refresh_token"]}, auth=("test-client", "s3cret")
    )
    assert response.status_code == 200
    assert (
        sandbox.api("GET", "connections", token=tokens["access_token"], tenant=None, contract=False).status_code == 401
    )
    refresh = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json() == {"error": "invalid_grant"}
