"""Read-only views of what the sandbox holds, for people (HTML) and for tests outside the
sandbox (JSON), so neither needs to read its tables. They exist only while
settings.XERO_SANDBOX mounts the sandbox URLs, and need no token.

HTML: ``/xero-sandbox/`` (landing page), ``/xero-sandbox/organisations/`` and
``/xero-sandbox/organisations/<tenantId>/`` (bank accounts, feeds, delivered lines).

JSON (``application/json``; GET only):

- ``GET /xero-sandbox/organisations.json``: ``{"organisations": [organisation, ...]}``,
  by name, where an organisation is::

    {"tenantId": "6b1a9b9e-...", "name": "Demo Company (UK)", "baseCurrency": "GBP",
     "isMultiCurrency": true,
     "bankAccounts": [{"accountId": "...", "code": "090", "name": "Business Bank Account",
                       "accountNumber": "20-00-00 12345678", "type": "BANK", "currency": "GBP",
                       "status": "ACTIVE"}],
     "feedConnections": [{"id": "...", "accountToken": "tok-1", "accountId": "...",
                          "status": "CONNECTED", "deleted": false}]}

  Bank accounts are by name; ``type`` is BANK or CREDITCARD. Feed connections are every
  app's, oldest first, deleted ones included (``status`` DELETED, ``deleted`` true);
  ``accountId`` is the bank account the feed delivers to.
- ``GET /xero-sandbox/organisations/<tenantId>.json``: one organisation as above plus::

    "statements": [{"id": "...", "feedConnectionId": "...", "status": "DELIVERED",
                    "startDate": "2025-01-01", "endDate": "2025-01-31",
                    "startBalance": {"amount": "100.0000", "creditDebitIndicator": "CREDIT"},
                    "endBalance": {"amount": "150.0000", "creditDebitIndicator": "CREDIT"},
                    "statementLineCount": 1}],
    "statementLines": [{"transactionId": "t-1", "postedDate": "2025-01-02",
                        "amount": "50.0000", "creditDebitIndicator": "CREDIT",
                        "description": "A line", "statementId": "...",
                        "feedConnectionId": "..."}]

  ``statements`` holds every statement posted to the organisation's feeds, oldest first
  (statements of one request share their time, so among them the order is by id):
  DELIVERED ones and those REJECTED as duplicates. ``statementLines`` holds the lines of
  the DELIVERED statements, in the same order and then as posted; ``amount`` is the
  stored decimal as a string (no float rounding), ``transactionId`` may be null. An
  unknown tenant answers 404 ``{"error": "..."}``.
- ``GET /xero-sandbox/apps.json``: ``{"apps": [app, ...]}``, by client id, where an app is::

    {"clientId": "...", "name": "...", "refreshCount": 3,
     "grants": [{"id": "<auth event id>", "revoked": false, "refreshCount": 1,
                 "tenantIds": ["6b1a9b9e-..."],
                 "refreshTokens": [{"tokenSha256": "...", "used": true, "revoked": false}],
                 "authorizationCodes": [{"codeSha256": "...", "used": true}]}]}

  ``refreshCount`` counts successful refresh grants. Tokens and codes are given by the hex
  SHA-256 of their value, never the value: a test hashes the one it holds to find it.
"""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import BankAccount, FeedConnection, Grant, Organisation, SandboxApp, Statement, StatementLine, sha256_hex
from .problems import json_response


def index(request):
    """A tiny landing page for people who open /xero-sandbox/."""
    return HttpResponse(
        "<!doctype html><title>Xero sandbox</title><h1>Xero sandbox</h1>"
        '<p><a href="organisations/">Organisations</a></p>'
    )


def organisation_list(request):
    """Every organisation with links to its page."""
    orgs = Organisation.objects.prefetch_related("bank_accounts").order_by("name")
    return render(request, "xero_sandbox/organisations.html", {"organisations": orgs})


def organisation_detail(request, tenant_id):
    """An organisation's bank accounts, feed connections and delivered lines, newest first."""
    org = get_object_or_404(Organisation, tenant_id=tenant_id)
    accounts = []
    for account in org.bank_accounts.order_by("name"):
        lines = (
            StatementLine.objects.filter(feed_connection__bank_account=account, statement__status="DELIVERED")
            .select_related("statement")
            .order_by("-statement__created_at", "-posted_date", "-position")[:500]
        )
        accounts.append({"account": account, "feeds": account.feed_connections.order_by("-created_at"), "lines": lines})
    return render(request, "xero_sandbox/organisation.html", {"org": org, "accounts": accounts})


def _organisations():
    """Organisations with their bank accounts and feed connections, in two more queries."""
    return Organisation.objects.order_by("name").prefetch_related(
        Prefetch("bank_accounts", queryset=BankAccount.objects.order_by("name")),
        Prefetch(
            "feed_connections",
            queryset=FeedConnection.objects.select_related("bank_account").order_by("created_at", "id"),
        ),
    )


def _organisation_json(org: Organisation) -> dict:
    return {
        "tenantId": str(org.tenant_id),
        "name": org.name,
        "baseCurrency": org.base_currency,
        "isMultiCurrency": org.is_multi_currency,
        "bankAccounts": [
            {
                "accountId": str(account.account_id),
                "code": account.code,
                "name": account.name,
                "accountNumber": account.account_number,
                "type": account.bank_account_type,
                "currency": account.currency,
                "status": account.status,
            }
            for account in org.bank_accounts.all()
        ],
        "feedConnections": [
            {
                "id": str(feed.id),
                "accountToken": feed.account_token,
                "accountId": str(feed.bank_account.account_id),
                "status": feed.status,
                "deleted": feed.deleted_at is not None,
            }
            for feed in org.feed_connections.all()
        ],
    }


@require_GET
def organisations_json(request):
    """Every organisation, its bank accounts and feed connections (module docstring)."""
    return json_response({"organisations": [_organisation_json(org) for org in _organisations()]})


@require_GET
def organisation_json(request, tenant_id):
    """One organisation with its statements and delivered lines (module docstring)."""
    org = _organisations().filter(tenant_id=tenant_id).first()
    if org is None:
        return json_response({"error": f"No organisation has the tenant id {tenant_id}."}, 404)
    statements = Statement.objects.filter(feed_connection__organisation=org).order_by("created_at", "id")
    lines = (
        StatementLine.objects.filter(feed_connection__organisation=org, statement__status=Statement.DELIVERED)
        .order_by("statement__created_at", "statement_id", "position")
        .values_list(
            "transaction_id",
            "posted_date",
            "amount",
            "credit_debit_indicator",
            "description",
            "statement_id",
            "feed_connection_id",
        )
    )
    return json_response(
        {
            **_organisation_json(org),
            "statements": [
                {
                    "id": str(st.id),
                    "feedConnectionId": str(st.feed_connection_id),
                    "status": st.status,
                    "startDate": st.start_date.isoformat(),
                    "endDate": st.end_date.isoformat(),
                    "startBalance": {"amount": str(st.start_balance), "creditDebitIndicator": st.start_indicator},
                    "endBalance": {"amount": str(st.end_balance), "creditDebitIndicator": st.end_indicator},
                    "statementLineCount": st.line_count,
                }
                for st in statements
            ],
            "statementLines": [
                {
                    "transactionId": txn,
                    "postedDate": posted.isoformat(),
                    "amount": str(amount),
                    "creditDebitIndicator": indicator,
                    "description": description,
                    "statementId": str(statement_id),
                    "feedConnectionId": str(feed_id),
                }
                for txn, posted, amount, indicator, description, statement_id, feed_id in lines
            ],
        }
    )


@require_GET
def apps_json(request):
    """Every app with its grants, their organisations, tokens and codes (module docstring)."""
    apps = SandboxApp.objects.order_by("client_id").prefetch_related(
        Prefetch("grants", queryset=Grant.objects.order_by("created_at").prefetch_related(
            "connections__organisation", "refresh_tokens", "codes")))
    return json_response({"apps": [
        {
            "clientId": app.client_id,
            "name": app.name,
            "refreshCount": app.refresh_count,
            "grants": [
                {
                    "id": str(grant.auth_event_id),
                    "revoked": grant.revoked_at is not None,
                    "refreshCount": grant.refresh_count,
                    "tenantIds": [str(c.organisation.tenant_id) for c in grant.connections.all()],
                    "refreshTokens": [
                        {"tokenSha256": sha256_hex(t.token.encode()), "used": t.first_used_at is not None,
                         "revoked": t.revoked_at is not None}
                        for t in grant.refresh_tokens.all()
                    ],
                    "authorizationCodes": [
                        {"codeSha256": sha256_hex(c.code.encode()), "used": c.used_at is not None}
                        for c in grant.codes.all()
                    ],
                }
                for grant in app.grants.all()
            ],
        }
        for app in apps
    ]})
