"""Serve the demo and make it ready to push: start the threaded dev server on SITE_URL's
port (its log goes to var/demo-server.log, so the summary stays on screen), then (once it
answers, since the sandbox lives in it) link a second demo company to the sandbox's AU
organisation over real HTTP, map one account, and print the URLs, logins, API key and a
curl line that pushes transactions. The UK organisation stays free for the printed link."""

import io
import json
import re
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.feeds.mapping import mapping_create
from apps.feeds.source_accounts import source_account_create
from apps.tenants.models import Company, Partner
from apps.xero_auth import connections, oauth

AU_ORGANISATION = "Demo Company (AU)"
UK_ORGANISATION = "Demo Company (UK)"


def _wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _ready_company(partner):
    """A company linked to the AU organisation with one connected account, through the
    same OAuth and mapping services the portal uses."""
    company, _ = Company.objects.get_or_create(partner=partner, name="Demo Bakery (AU)")
    connection = company.connections.first() or connections.connection_create(company=company)
    if not connection.is_linked:
        session = {}
        url = oauth.oauth_start(connection=connection, session=session)
        consent = requests.get(url, allow_redirects=False, timeout=10,
                               params={"sandbox_approve": _tenant_id(AU_ORGANISATION)})
        params = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
        connection, organisations = oauth.oauth_callback(session=session, params=params)
        connection = connections.connection_link(connection=connection, organisation=organisations[0])
    account = connection.source_accounts.filter(account_id="bakery-current").first()
    if account is None:
        account = source_account_create(
            connection=connection, api_version="v2", account_id="bakery-current", account_name="Bakery Everyday",
            account_type="checking", account_number="06201234", currency="AUD", balance=Decimal("800.00"))
    if account.status != "connected":
        # A week back, so the printed push (dated two hours ago) is never before it.
        mapping_create(connection=connection, source_account_id=account.account_id, target_account_id=None,
                       feed_start_date=timezone.localdate() - timedelta(days=7))
    account.refresh_from_db()
    return connection, account


def _tenant_id(name):
    """The organisation's tenant id, as the sandbox's seeding command reports it (it is
    idempotent, so running it again changes nothing)."""
    out = io.StringIO()
    call_command("sandbox_seed", stdout=out)
    match = re.search(re.escape(name) + r" tenant_id=([0-9a-f-]{36})", out.getvalue())
    if match is None:
        raise RuntimeError(f"The sandbox has no organisation named {name!r}")
    return match.group(1)


def _start(name: str, *args: str) -> subprocess.Popen:
    """A manage.py command in its own process, its output in var/<name>.log."""
    log = open(settings.BASE_DIR / "var" / f"{name}.log", "ab")  # noqa: SIM115 - open while the process runs
    return subprocess.Popen([sys.executable, "manage.py", *args], stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


class Command(BaseCommand):
    help = "Run the demo server on SITE_URL's port (8000 by default) and print how to use it."

    def handle(self, *args, **options):
        port = urlsplit(settings.SITE_URL).port or 8000
        (settings.BASE_DIR / "var").mkdir(exist_ok=True)
        server = _start("demo-server", "runserver", f"127.0.0.1:{port}", "--noreload")
        # One webhook relay: the demo's SQLite has no row locks for a second.
        relay = _start("demo-relay", "deliver_webhooks")
        try:
            _wait_for(f"{settings.SITE_URL}/healthz")
            self._print_summary()
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.terminate()
            relay.terminate()

    def _print_summary(self):
        site = settings.SITE_URL
        partner = Partner.objects.get(slug="demo-bank")
        raw_key = (settings.BASE_DIR / "var" / "demo-key").read_text().strip()
        pending = Company.objects.get(partner=partner, name="Demo Coffee Roasters").connections.first()
        push_line = "(the sandbox is off: connect a real Xero organisation in the portal first)"
        if settings.XERO_SANDBOX:
            connection, account = _ready_company(partner)
            start = timezone.now().replace(microsecond=0, tzinfo=None) - timedelta(hours=2)
            balance = float(account.last_end_balance if account.last_end_balance is not None else account.balance)
            transactions = []
            for i, (text, amount) in enumerate([("Flour Mill Pty", -120.40), ("Card takings", 950.00),
                                                ("Electricity", -88.15)]):
                balance = round(balance + amount, 2)
                stamp = start + timedelta(minutes=i)
                transactions.append({"id": f"demo-{stamp:%Y%m%d%H%M%S}-{i}", "date": stamp.isoformat(),
                                     "description": text, "counterparty": text, "amount": amount,
                                     "balance": balance})
            body = json.dumps({"accountId": account.account_id, "transactions": transactions})
            push_line = (f"curl -s -u '{raw_key}:' -H 'Content-Type: application/json' \\\n      "
                         f"{site}/api/companies/{connection.company_id}/connections/{connection.id}/push/"
                         f"bankAccounts/{account.account_id}/bankTransactions \\\n      -d '{body}'")
        self.stdout.write(f"""
==============================================================================
 Bank feeds portal demo — everything is served on {site}

 Portal link for Demo Coffee Roasters (24 h, until its first step; connect Xero, choose
 {UK_ORGANISATION} — {AU_ORGANISATION} is Demo Bakery's already — and map):
   {pending.link_url()}
 Start page to register with Xero   {partner.xero_start_url}
 Portal sign-in      {site}/portal/        {"smb@demo.example"} / demo-password-123
 Admin (staff)       {site}/admin/         staff / staff-password-123
 Partner API         {site}/api/           docs: {site}/api/docs/
 Xero sandbox        {site}/xero-sandbox/organisations/

 Partner API key (Demo Bank), shown once:
   {raw_key}

 List companies:
   curl -s -u '{raw_key}:' {site}/api/companies
 Push three transactions to Demo Bakery (AU), already connected to Xero:
   {push_line}

 E-mails (password reset) are printed in the server log; the log:
   tail -f var/demo-server.log
==============================================================================
""")
        self.stdout.flush()
