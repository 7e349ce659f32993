"""Seed the demo: a branded partner with a fresh API key, a company, a portal user, a
staff user and (while the sandbox is on) the sandbox's organisations and the portal's
app. Safe to run again: it updates what exists and issues a new demo key."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.tenants.models import Company, CompanyMembership, Partner, PartnerApiKey

DEMO_PASSWORD = "demo-password-123"
STAFF_PASSWORD = "staff-password-123"


class Command(BaseCommand):
    help = "Create or refresh the demo partner, company, users and sandbox app; print how to use them."

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
                "return_url": f"{settings.SITE_URL}/portal/",
            },
        )
        for key in partner.api_keys.filter(name="demo", revoked_at__isnull=True):
            key.revoke()
        _, raw_key = PartnerApiKey.issue(partner, name="demo")

        company, _ = Company.objects.get_or_create(
            partner=partner, name="Demo Coffee Roasters", defaults={"description": "Demo SMB"}
        )
        smb, created = User.objects.get_or_create(username="smb", defaults={"email": "smb@demo.example"})
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
                "sandbox_app",
                "Bank feeds portal (demo)",
                redirect_uris=[f"{settings.SITE_URL}/portal/xero/callback"],
                client_id=settings.XERO_CLIENT_ID,
                client_secret=settings.XERO_CLIENT_SECRET,
                stdout=open("/dev/null", "w"),  # noqa: SIM115 - the demo's own credentials are known
            )

        site = settings.SITE_URL
        self.stdout.write(
            f"""
Bank feeds portal demo is ready.

  Portal        {site}/portal/          sign in as smb@demo.example / {DEMO_PASSWORD}
  Company       {company.redirect}
  Admin         {site}/admin/           staff / {STAFF_PASSWORD}
  API           {site}/api/             docs at {site}/api/docs/
  Xero sandbox  {site}/xero-sandbox/organisations/
  Partner API key (Demo Bank), shown once:
    {raw_key}

  Try it:
    curl -s -u '{raw_key}:' {site}/api/companies
"""
        )
