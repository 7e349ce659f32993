"""Seed the demo: a branded partner with a fresh API key, a company with a pending Xero
connection and three source accounts in two currencies, a portal user, a staff user and
(while the sandbox is on) the sandbox's organisations and the portal's app. Safe to run
again: it keeps what exists and issues a new demo key."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.urls import page_url
from apps.feeds.source_accounts import source_account_create
from apps.tenants.models import Company, CompanyMembership, Partner, PartnerApiKey
from apps.xero_auth.connections import connection_create

DEMO_EMAIL = "smb@demo.example"
DEMO_PASSWORD = "demo-password-123"
STAFF_PASSWORD = "staff-password-123"
DEMO_ACCOUNTS = [
    {"account_id": "acc-current", "account_name": "Business Current", "account_type": "checking",
     "account_number": "41236587", "sort_code": "40-47-84", "currency": "GBP", "balance": Decimal("5230.15")},
    {"account_id": "acc-card", "account_name": "Business Credit Card", "account_type": "creditCard",
     "account_number": "4921000000004417", "sort_code": "40-47-84", "currency": "GBP", "balance": Decimal("-412.60")},
    {"account_id": "acc-eur", "account_name": "Euro Savings", "account_type": "savings",
     "account_number": "88213344", "currency": "EUR", "balance": Decimal("12000.00")},
]


class Command(BaseCommand):
    help = "Create or refresh the demo partner, company, accounts, users and sandbox app."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        partner, _ = Partner.objects.update_or_create(
            slug="demo-bank",
            defaults={
                "name": "Demo Bank",
                "display_name": "Demo Bank Business",
                "primary_colour": "#0f766e",
                "logo_url": "/static/demo-bank-logo.svg",
                "support_email": "support@demo-bank.example",
                # Back to the "bank's app" (the portal's home stands in), with Codat's parameters.
                "return_url": f"{settings.SITE_URL}/portal/?companyId={{companyId}}&statusCode={{statusCode}}",
                "start_url": f"{settings.SITE_URL}/portal/accounts/login/",
                "currency": "GBP",
                "time_zone": "Europe/London",
            },
        )
        for key in partner.api_keys.filter(name="demo", revoked_at__isnull=True):
            key.revoke()
        _, raw_key = PartnerApiKey.issue(partner, name="demo")

        company, created = Company.objects.get_or_create(
            partner=partner, name="Demo Coffee Roasters", defaults={"description": "Demo SMB"}
        )
        connection = company.connections.first() or connection_create(company=company)
        for account in DEMO_ACCOUNTS:
            if not connection.source_accounts.filter(account_id=account["account_id"]).exists():
                source_account_create(connection=connection, api_version="v2", **account)

        smb, _ = User.objects.get_or_create(username="smb", defaults={"email": DEMO_EMAIL})
        smb.set_password(DEMO_PASSWORD)
        smb.save()
        CompanyMembership.objects.get_or_create(user=smb, company=company)
        staff, _ = User.objects.get_or_create(
            username="staff", defaults={"email": "staff@demo.example", "is_staff": True, "is_superuser": True}
        )
        staff.set_password(STAFF_PASSWORD)
        staff.save()

        if settings.XERO_SANDBOX:
            call_command("sandbox_seed", verbosity=0)
            call_command(
                "sandbox_app", "Bank feeds portal (demo)",
                redirect_uris=[page_url("oauth_callback")],
                client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET,
                stdout=open("/dev/null", "w"),  # noqa: SIM115 - the demo's own credentials are known
            )
        # The key is shown once; demo_serve prints it with the rest.
        (settings.BASE_DIR / "var").mkdir(exist_ok=True)
        (settings.BASE_DIR / "var" / "demo-key").write_text(raw_key)
        self.stdout.write(f"Seeded {partner.brand_name}: {company.name} with {len(DEMO_ACCOUNTS)} source accounts.")
