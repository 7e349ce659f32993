import pytest
from django.core.management import call_command

from apps.xero_sandbox.models import Organisation, SandboxApp

from .conftest import AU, UK

pytestmark = pytest.mark.django_db


def sdk_client(sandbox, tokens):
    from xero_python.api_client import ApiClient
    from xero_python.api_client.configuration import Configuration
    from xero_python.api_client.oauth2 import OAuth2Token

    store = {"token": dict(tokens, scope=tokens["scope"].split())}
    config = Configuration(oauth2_token=OAuth2Token(client_id="test-client", client_secret="s3cret"))
    return ApiClient(
        config,
        oauth2_token_getter=lambda: store["token"],
        oauth2_token_saver=lambda token: store.update(token=token),
    ), store


def test_xero_python_lists_connections(sandbox, tokens):
    from xero_python.identity import IdentityApi

    api_client, _ = sdk_client(sandbox, tokens)
    connections = IdentityApi(api_client, base_url=sandbox.url).get_connections()
    assert [c.tenant_name for c in connections] == [UK]
    assert str(connections[0].tenant_id) == sandbox.tenant(UK)


def test_xero_python_refreshes_against_the_sandbox(sandbox, tokens, monkeypatch):
    from xero_python.api_client.oauth2 import TokenApi

    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{sandbox.url}/connect/token")
    api_client, store = sdk_client(sandbox, tokens)
    new = api_client.refresh_oauth2_token()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert store["token"]["access_token"] == new["access_token"]
    assert SandboxApp.objects.get(client_id="test-client").refresh_count == 1


def test_accounts_filter_bank_accounts(sandbox, access):
    response = sandbox.api(
        "GET", "api.xro/2.0/Accounts", token=access, params={"where": 'Type=="BANK" AND Status=="ACTIVE"'}
    )
    assert response.status_code == 200
    accounts = response.json()["Accounts"]
    assert {a["CurrencyCode"] for a in accounts} == {"GBP", "USD", "EUR"}
    assert {a["BankAccountType"] for a in accounts} == {"BANK", "CREDITCARD"}
    assert response.headers["X-MinLimit-Remaining"]


def test_organisation_and_currencies(sandbox):
    access = sandbox.connect(tenants=(UK, AU))["access_token"]
    org = sandbox.api("GET", "api.xro/2.0/Organisation", token=access).json()["Organisations"][0]
    assert org["Name"] == UK
    assert org["BaseCurrency"] == "GBP"
    assert org["IsMultiCurrency"] is True
    uk = sandbox.api("GET", "api.xro/2.0/Currencies", token=access).json()["Currencies"]
    assert [c["Code"] for c in uk][0] == "GBP"
    assert len(uk) == 3
    au = sandbox.api("GET", "api.xro/2.0/Currencies", token=access, tenant=AU).json()["Currencies"]
    assert au == [{"Code": "AUD", "Description": "Australian Dollar"}]


def test_accounting_needs_an_accounting_scope(sandbox):
    access = sandbox.connect(scope="offline_access bankfeeds")["access_token"]
    assert sandbox.api("GET", "api.xro/2.0/Accounts", token=access).status_code == 403


def test_seed_and_app_commands_are_idempotent(capsys):
    call_command("sandbox_seed")
    call_command("sandbox_seed")
    assert Organisation.objects.count() == 2
    for _ in range(2):
        call_command(
            "sandbox_app",
            "Portal",
            "--redirect-uri",
            "http://x/cb",
            "--client-id",
            "sandbox-portal-client",
            "--client-secret",
            "sandbox-portal-secret",
        )
    out = capsys.readouterr().out
    assert "client_id=sandbox-portal-client\nclient_secret=sandbox-portal-secret\n" in out
    assert SandboxApp.objects.filter(client_id="sandbox-portal-client").count() == 1
    call_command("sandbox_app", "Other", "--redirect-uri", "http://x/cb", "--no-bankfeeds")
    assert SandboxApp.objects.get(name="Other").bankfeeds is False
    call_command("sandbox_org", "Demo Company (NZ)", "--currency", "NZD")
    assert Organisation.objects.get(name="Demo Company (NZ)").country == "NZ"


def test_the_organisation_page_lists_delivered_lines(sandbox, access, feed):
    from .test_statements import ST, statement

    assert sandbox.api("POST", ST, token=access, json={"items": [statement(feed)]}).status_code == 202
    listing = sandbox.http.get(f"{sandbox.url}/organisations/")
    assert UK in listing.text
    page = sandbox.http.get(f"{sandbox.url}/organisations/{sandbox.tenant(UK)}/")
    assert page.status_code == 200
    assert "t-1" in page.text
    assert "tok-gbp-1" in page.text
