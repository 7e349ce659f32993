"""Accounting API 2.0, read-only: Accounts (bank accounts only), Organisation, Currencies.

Only bank accounts exist in the sandbox, so every account has Type "BANK".
``where`` supports clauses joined by ``AND`` of the form ``Field=="value"`` (or
``Field!="value"``) on Type, Status, BankAccountType, CurrencyCode, Code, Name,
BankAccountNumber, AccountID; anything else answers 400 (stricter than Xero, which
understands full LINQ-like filters). Organisation carries Xero's usual fields plus the
sandbox-only ``IsMultiCurrency`` (real Xero has none; infer from Currencies count > 1).
Currencies lists the base currency and, for multi-currency organisations, every currency
its bank accounts use.
"""

import re

from django.http import HttpResponse

from .gateway import CallContext, xero_api
from .models import BankAccount
from .problems import json_response

CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "Pound Sterling",
    "NZD": "New Zealand Dollar",
    "USD": "United States Dollar",
    "ZAR": "South African Rand",
    "SGD": "Singapore Dollar",
    "HKD": "Hong Kong Dollar",
    "JPY": "Japanese Yen",
    "CHF": "Swiss Franc",
}
CLAUSE = re.compile(r'^\s*(\w+)\s*(==|!=)\s*"([^"]*)"\s*$')
COUNTRY_VERSION = {"GB": "UK", "AU": "AU", "NZ": "NZ", "US": "US"}


def _account_json(account: BankAccount) -> dict:
    return {
        "AccountID": str(account.account_id),
        "Code": account.code,
        "Name": account.name,
        "Type": "BANK",
        "BankAccountNumber": account.account_number,
        "BankAccountType": account.bank_account_type,
        "CurrencyCode": account.currency,
        "Status": account.status,
        "Class": "ASSET" if account.bank_account_type == BankAccount.BANK else "LIABILITY",
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "HasAttachments": False,
    }


def _bad_request(message: str) -> HttpResponse:
    return json_response({"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}, 400)


@xero_api(api="accounting")
def accounts(request, ctx: CallContext):
    """GET Accounts with an optional `where` filter."""
    if request.method != "GET":
        return HttpResponse(status=405)
    rows = [_account_json(a) for a in BankAccount.objects.filter(organisation=ctx.organisation).order_by("name")]
    where = request.GET.get("where", "").strip()
    if where:
        for clause in re.split(r"\s+AND\s+|\s*&&\s*", where, flags=re.IGNORECASE):
            match = CLAUSE.match(clause)
            if not match or match.group(1) not in rows_fields():
                return _bad_request(f"Unsupported where clause: {clause}")
            field, op, value = match.groups()
            rows = [r for r in rows if (str(r[field]) == value) == (op == "==")]
    return json_response({"Accounts": rows})


def rows_fields() -> set[str]:
    """Fields a where clause may name."""
    return {"Type", "Status", "BankAccountType", "CurrencyCode", "Code", "Name", "BankAccountNumber", "AccountID"}


@xero_api(api="accounting")
def organisation(request, ctx: CallContext):
    """GET Organisation."""
    if request.method != "GET":
        return HttpResponse(status=405)
    org = ctx.organisation
    body = {
        "OrganisationID": str(org.tenant_id),
        "Name": org.name,
        "LegalName": org.name,
        "ShortCode": org.short_code,
        "BaseCurrency": org.base_currency,
        "CountryCode": org.country,
        "Version": COUNTRY_VERSION.get(org.country, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "OrganisationStatus": "ACTIVE",
        "IsDemoCompany": True,
        "IsMultiCurrency": org.is_multi_currency,
    }
    return json_response({"Organisations": [body]})


@xero_api(api="accounting")
def currencies(request, ctx: CallContext):
    """GET Currencies."""
    if request.method != "GET":
        return HttpResponse(status=405)
    rows = [{"Code": c, "Description": CURRENCY_NAMES.get(c, c)} for c in ctx.organisation.currencies()]
    return json_response({"Currencies": rows})
