"""Writes used by the management commands, tests and demo: apps, organisations, seed."""

from django.db import transaction

from .models import BankAccount, Organisation, SandboxApp, new_secret

SEED = [
    {
        "name": "Demo Company (UK)",
        "currency": "GBP",
        "multi": True,
        "country": "GB",
        "short_code": "!uk01",
        "tenant_id": "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d01",
        "accounts": [
            ("090", "Business Bank Account", "20-00-00 12345678", "BANK", "GBP"),
            ("091", "Business Savings Account", "20-00-00 87654321", "BANK", "GBP"),
            ("092", "USD Account", "20-00-00 11112222", "BANK", "USD"),
            ("093", "EUR Account", "20-00-00 33334444", "BANK", "EUR"),
            ("094", "Company Credit Card", "4242", "CREDITCARD", "GBP"),
        ],
    },
    {
        "name": "Demo Company (AU)",
        "currency": "AUD",
        "multi": False,
        "country": "AU",
        "short_code": "!au01",
        "tenant_id": "6b1a9b9e-8b1e-4c33-9d41-0a4a1b2c3d02",
        "accounts": [
            ("090", "Business Cheque Account", "062-000 12345678", "BANK", "AUD"),
            ("091", "Business Online Saver", "062-000 87654321", "BANK", "AUD"),
            ("094", "Business Credit Card", "1111", "CREDITCARD", "AUD"),
        ],
    },
]


@transaction.atomic
def app_register(
    *,
    name: str,
    redirect_uris: list[str],
    client_id: str | None = None,
    client_secret: str | None = None,
    bankfeeds: bool = True,
) -> SandboxApp:
    """Create an app, or update the one with this client_id (idempotent)."""
    defaults = {"name": name, "redirect_uris": list(redirect_uris), "bankfeeds": bankfeeds}
    if client_secret:
        defaults["client_secret"] = client_secret
    if client_id:
        app, created = SandboxApp.objects.update_or_create(client_id=client_id, defaults=defaults)
        if created and not client_secret:
            app.client_secret = new_secret()
            app.save(update_fields=["client_secret"])
        return app
    return SandboxApp.objects.create(
        client_id=new_secret(16).replace("-", "").replace("_", "").upper()[:32],
        client_secret=client_secret or new_secret(),
        **{k: v for k, v in defaults.items() if k != "client_secret"},
    )


@transaction.atomic
def organisation_create(
    *,
    name: str,
    currency: str,
    multi_currency: bool = False,
    country: str = "",
    short_code: str = "",
    tenant_id=None,
    bank_feeds_enabled: bool = True,
) -> Organisation:
    """Create (or update, by name) an organisation."""
    defaults = {
        "base_currency": currency.upper(),
        "is_multi_currency": multi_currency,
        "country": (country or {"GBP": "GB", "AUD": "AU", "NZD": "NZ", "USD": "US"}.get(currency.upper(), "GB")),
        "bank_feeds_enabled": bank_feeds_enabled,
    }
    if short_code:
        defaults["short_code"] = short_code
    if tenant_id:
        defaults["tenant_id"] = tenant_id
    org, _ = Organisation.objects.update_or_create(name=name, defaults=defaults)
    return org


@transaction.atomic
def sandbox_seed() -> list[Organisation]:
    """The demo organisations and their bank accounts; safe to run again."""
    orgs = []
    for spec in SEED:
        org = organisation_create(
            name=spec["name"],
            currency=spec["currency"],
            multi_currency=spec["multi"],
            country=spec["country"],
            short_code=spec["short_code"],
            tenant_id=spec["tenant_id"],
        )
        for code, name, number, kind, currency in spec["accounts"]:
            BankAccount.objects.get_or_create(
                organisation=org,
                code=code,
                defaults={"name": name, "account_number": number, "bank_account_type": kind, "currency": currency},
            )
        orgs.append(org)
    return orgs
