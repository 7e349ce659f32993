"""The sandbox's read-only JSON views of its state, as tests outside the sandbox use them."""

import pytest

from .conftest import AU, UK
from .test_statements import TODAY, line, post, statement

pytestmark = pytest.mark.django_db

FC = "bankfeeds.xro/1.0/FeedConnections"


def organisations(sandbox) -> dict:
    response = sandbox.http.get(f"{sandbox.url}/organisations.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return {org["name"]: org for org in response.json()["organisations"]}


def organisation(sandbox, name=UK) -> dict:
    response = sandbox.http.get(f"{sandbox.url}/organisations/{sandbox.tenant(name)}.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def test_it_lists_every_organisation_with_its_bank_accounts(sandbox):
    orgs = organisations(sandbox)
    assert list(orgs) == [AU, UK]
    uk = orgs[UK]
    assert {k: uk[k] for k in ("tenantId", "baseCurrency", "isMultiCurrency")} == {
        "tenantId": sandbox.tenant(UK),
        "baseCurrency": "GBP",
        "isMultiCurrency": True,
    }
    assert orgs[AU]["isMultiCurrency"] is False
    assert uk["feedConnections"] == []
    assert [a["name"] for a in uk["bankAccounts"]] == sorted(a["name"] for a in uk["bankAccounts"])
    card = next(a for a in uk["bankAccounts"] if a["code"] == "094")
    assert set(card) == {"accountId", "code", "name", "accountNumber", "type", "currency", "status"}
    assert card["status"] == "ACTIVE"
    assert (card["name"], card["accountNumber"], card["type"], card["currency"]) == (
        "Company Credit Card",
        "4242",
        "CREDITCARD",
        "GBP",
    )


def test_it_lists_feed_connections_and_the_account_each_feeds(sandbox, access, feed):
    uk = organisations(sandbox)[UK]
    account = next(a for a in uk["bankAccounts"] if a["name"] == "Feed GBP")
    assert uk["feedConnections"] == [
        {
            "id": feed,
            "accountToken": "tok-gbp-1",
            "accountId": account["accountId"],
            "status": "CONNECTED",
            "deleted": False,
        }
    ]
    assert organisation(sandbox)["feedConnections"] == uk["feedConnections"]


def test_a_deleted_feed_connection_is_listed_as_deleted(sandbox, access, feed):
    assert sandbox.api("POST", f"{FC}/DeleteRequests", token=access, json={"items": [{"id": feed}]}).status_code == 202
    [listed] = organisations(sandbox)[UK]["feedConnections"]
    assert (listed["id"], listed["status"], listed["deleted"]) == (feed, "DELETED", True)


def test_the_organisation_lists_its_statements_and_delivered_lines(sandbox, access, feed):
    delivered = post(sandbox, access, statement(feed))
    assert delivered.status_code == 202
    assert post(sandbox, access, statement(feed)).status_code == 409
    org = organisation(sandbox)
    assert org["tenantId"] == sandbox.tenant(UK)
    assert [(s["status"], s["feedConnectionId"], s["statementLineCount"]) for s in org["statements"]] == [
        ("DELIVERED", feed, 1),
        ("REJECTED", feed, 1),
    ]
    first = org["statements"][0]
    assert first["id"] == delivered.json()["items"][0]["id"]
    assert first["endDate"] == statement(feed)["endDate"]
    assert first["startDate"] == statement(feed)["startDate"]
    assert (first["startBalance"], first["endBalance"]) == (
        {"amount": "100.0000", "creditDebitIndicator": "CREDIT"},
        {"amount": "150.0000", "creditDebitIndicator": "CREDIT"},
    )
    assert org["statementLines"] == [
        {
            "transactionId": "t-1",
            "postedDate": statement(feed)["startDate"],
            "amount": "50.0000",
            "creditDebitIndicator": "CREDIT",
            "description": "A line",
            "statementId": first["id"],
            "feedConnectionId": feed,
        }
    ]
    assert organisation(sandbox, AU)["statements"] == []


def test_lines_come_oldest_statement_first_then_as_posted(sandbox, access, feed):
    lines = [line(TODAY, "1", "DEBIT", txn) for txn in ("b", "a")]
    later = statement(feed, lines=lines, start_balance="150.00", end_balance="148.00")
    assert post(sandbox, access, statement(feed)).status_code == 202
    assert post(sandbox, access, later).status_code == 202
    assert [ln["transactionId"] for ln in organisation(sandbox)["statementLines"]] == ["t-1", "b", "a"]


def test_an_unknown_tenant_is_404_json(sandbox):
    response = sandbox.http.get(f"{sandbox.url}/organisations/00000000-0000-0000-0000-000000000001.json")
    assert response.status_code == 404
    assert "error" in response.json()


def test_apps_list_their_grants_refreshes_and_hashed_tokens(sandbox, tokens):
    import hashlib

    def sha(value):
        return hashlib.sha256(value.encode()).hexdigest()

    refreshed = sandbox.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    response = sandbox.http.get(f"{sandbox.url}/apps.json")
    assert response.status_code == 200
    [app] = [a for a in response.json()["apps"] if a["clientId"] == "test-client"]
    assert app["refreshCount"] == 1
    [grant] = app["grants"]
    assert (grant["revoked"], grant["refreshCount"], grant["tenantIds"]) == (False, 1, [sandbox.tenant(UK)])
    first, second = grant["refreshTokens"]
    assert first == {"tokenSha256": sha(tokens["refresh_token"]), "used": True, "revoked": False}
    assert second["tokenSha256"] == sha(refreshed.json()["refresh_token"])
    assert [c["used"] for c in grant["authorizationCodes"]] == [True]
    assert tokens["refresh_token"] not in response.text and tokens["access_token"] not in response.text


def test_a_statement_rejected_after_the_fact_reads_rejected_and_leaves_the_delivered_lines(sandbox, access, feed):
    delivered = post(sandbox, access, statement(feed))
    statement_id = delivered.json()["items"][0]["id"]

    response = sandbox.http.post(f"{sandbox.url}/_control/reject-statement",
                                 json={"statementId": statement_id, "detail": "Bank said no."})

    assert response.status_code == 200, response.text
    read = sandbox.api("GET", f"bankfeeds.xro/1.0/Statements/{statement_id}", token=access)
    assert read.json()["status"] == "REJECTED"
    assert read.json()["errors"][0]["detail"] == "Bank said no."
    assert organisation(sandbox)["statementLines"] == []


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"statementId": "00000000-0000-0000-0000-000000000001"},
                                                          404)])
def test_rejecting_an_unknown_or_unnamed_statement_is_refused(sandbox, body, status):
    assert sandbox.http.post(f"{sandbox.url}/_control/reject-statement", json=body).status_code == status
