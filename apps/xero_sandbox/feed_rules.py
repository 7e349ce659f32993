"""The rules of POST FeedConnections, one item at a time: field limits, the
organisation's bank feeds and currencies, an accountToken unique per app (live in this
organisation: feed-already-connected-in-current-organisation; in another one:
feed-already-connected-in-different-organisation), and a bank account fed by one feed."""

import re

from . import bankfeeds_fields as fields
from .models import BankAccount, FeedConnection, Organisation, SandboxApp
from .problems import Problem, error_item

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


class FeedRejected(Exception):
    """An item of POST FeedConnections refused; `error` is its Bank Feeds error item."""

    def __init__(self, type_, detail, status=400):
        super().__init__(detail)
        self.error = error_item(type_, detail, status)


def check_feed_item(item, app: SandboxApp, org: Organisation, seen_tokens: set) -> dict:
    """One item of POST FeedConnections checked against the fields' limits, the
    organisation and the app's live feeds (`seen_tokens`: earlier items of the request);
    the values to create it from, or FeedRejected."""
    if not isinstance(item, dict):
        raise FeedRejected("invalid-request", "Each item must be an object.")
    try:
        token = fields.text(item, "accountToken", "AccountToken", fields.FEED_LIMITS["accountToken"], True)
        kind = item.get("accountType")
        if kind not in (BankAccount.BANK, BankAccount.CREDITCARD):
            raise fields.invalid("The request field 'AccountType' must be BANK or CREDITCARD.")
        number_limit = 4 if kind == BankAccount.CREDITCARD else fields.FEED_LIMITS["accountNumber"]
        number = fields.text(item, "accountNumber", "AccountNumber", number_limit)
        name = fields.text(item, "accountName", "AccountName", fields.FEED_LIMITS["accountName"])
        account_id = item.get("accountId")
        if account_id is not None and fields.guid(account_id) is None:
            raise fields.invalid("The request field 'AccountId' must be a GUID.")
        if not number and account_id is None:
            raise fields.invalid("Either 'AccountNumber' or 'AccountId' is required.")
        currency = item.get("currency")
        if not isinstance(currency, str) or not CURRENCY_RE.match(currency):
            raise fields.invalid("The request field 'Currency' is required (ISO-4217).")
    except Problem as exc:
        raise FeedRejected(exc.type, exc.detail, exc.status)
    country = item.get("country")
    if country is not None and (not isinstance(country, str) or not COUNTRY_RE.match(country)):
        raise FeedRejected("invalid-country-specified", "The country is not a valid ISO-3166 alpha-2 code.")
    if not org.bank_feeds_enabled:
        raise FeedRejected("invalid-organisation-bank-feeds", "The organisation cannot use bank feeds.", 403)
    if currency != org.base_currency and not org.is_multi_currency:
        raise FeedRejected(
            "invalid-organisation-multi-currency",
            "The organisation does not have multi-currency enabled for a feed in this currency.",
        )
    if token in seen_tokens:
        raise FeedRejected("feed-already-connected-in-current-organisation", "The AccountToken is repeated.", 409)
    live = FeedConnection.objects.filter(app=app, account_token=token, deleted_at__isnull=True)
    if live.filter(organisation=org).exists():
        raise FeedRejected(
            "feed-already-connected-in-current-organisation",
            "The AccountToken is already connected to a bank account in this organisation.",
            409,
        )
    if live.exists():
        raise FeedRejected(
            "feed-already-connected-in-different-organisation",
            "The AccountToken is already connected to a bank account in a different organisation.",
            409,
        )
    accounts = BankAccount.objects.filter(organisation=org)
    account = None
    if account_id is not None:
        account = accounts.filter(account_id=fields.guid(account_id)).first()
        if account is None:
            raise FeedRejected("account-not-valid", "The AccountId is not a bank account of this organisation.")
    elif number:
        account = accounts.filter(account_number=number, bank_account_type=kind).first()
    if account is not None:
        if account.currency != currency or account.bank_account_type != kind:
            raise FeedRejected("account-not-valid", "The bank account's currency or type does not match the feed.")
        if account.feed_connections.filter(deleted_at__isnull=True).exists():
            raise FeedRejected(
                "feed-already-connected-in-current-organisation",
                "The bank account already has a feed connection.",
                409,
            )
    elif not name:
        raise FeedRejected("invalid-request", "The request field 'AccountName' is required for a new account.")
    return {
        "token": token,
        "kind": kind,
        "number": number or "",
        "name": name or "",
        "currency": currency,
        "country": country or "",
        "account": account,
    }
