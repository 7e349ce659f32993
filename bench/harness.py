"""Shared set-up for the benchmarks: a fresh PostgreSQL database, two gunicorn servers
(the API, and the embedded Xero sandbox in a process of its own as DESIGN.md says),
and companies connected to the sandbox through the real OAuth dance and feed mapping.

Not a test module. Everything it creates it removes again: the database is dropped, the
servers are stopped by their process ids, and the Redis database it used is flushed.
"""

import base64
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG = "postgres://postgres@127.0.0.1:5432"
# A Redis database of its own: the test suite flushes database 0 between tests.
REDIS_DB = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HIGH = "1000000000"


def env_for(db_name: str, api_port: int, sandbox_port: int, *, raise_limits: bool, conn_max_age: int) -> dict:
    """The environment both servers and this process run with (production-like: DEBUG off)."""
    sandbox = f"http://127.0.0.1:{sandbox_port}/xero-sandbox"
    env = {
        "DATABASE_URL": f"{PG}/{db_name}",
        "REDIS_URL": REDIS_DB,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "XERO_SANDBOX": "1",
        "SITE_URL": f"http://127.0.0.1:{api_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "XERO_LOGIN_URL": sandbox,
        "XERO_IDENTITY_URL": sandbox,
        "XERO_API_URL": sandbox,
        "CONN_MAX_AGE": str(conn_max_age),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    if raise_limits:
        for name in ("XERO_TENANT_PER_MINUTE", "XERO_TENANT_CONCURRENT", "XERO_SANDBOX_TENANT_PER_MINUTE",
                     "XERO_SANDBOX_TENANT_CONCURRENT", "XERO_SANDBOX_TENANT_PER_DAY",
                     "XERO_SANDBOX_APP_STATEMENTS_PER_MINUTE"):
            env[name] = HIGH
    return env


def _psql(sql: str):
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def _redis_flush():
    import redis

    redis.Redis.from_url(REDIS_DB).flushdb()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the peak resident set size of a process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_gunicorn(name, port, env, *, workers, threads, logdir) -> Server:
    log = Path(logdir) / f"{name}.log"
    cmd = [str(VENV_BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--threads", str(threads), "--timeout", "120", "--backlog", "2048", "--log-level", "warning"]
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} gunicorn did not start; see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(eq=False)  # hashable by identity: the load test keys results by account
class Account:
    """One connected source account, and the state a partner keeps to push to it."""

    company_id: str
    connection_id: str
    account_id: str
    feed_connection_id: str
    tenant_id: str
    partner_key: str
    balance: Decimal = Decimal("1000.00")
    day: int = 0  # days after the first date used
    serial: itertools.count = field(default_factory=itertools.count)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def push_path(self):
        return (f"/api/companies/{self.company_id}/connections/{self.connection_id}/push/bankAccounts/"
                f"{self.account_id}/bankTransactions")

    @property
    def auth(self):
        return "Basic " + base64.b64encode(self.partner_key.encode()).decode()

    def next_batch(self, size: int, first_day) -> list[dict]:
        """`size` fresh transactions: new ids, one date within the last year (never ahead of
        today), balances continuing from the previous batch."""
        from datetime import date

        when = min(first_day + timedelta(days=self.day), date.today())
        self.day += 1
        out = []
        for i in range(size):
            n = next(self.serial)
            amount = Decimal((n * 37) % 20000 - 9000) / 100 or Decimal("1.00")
            self.balance += amount
            out.append({
                "id": f"{self.run}-{self.account_id}-{n}",
                "date": f"{when.isoformat()}T{9 + i * 10 // size:02d}:00:00",
                "description": f"Card payment {n}",
                "counterparty": f"Merchant {n % 97}",
                "reference": f"REF{n:08d}",
                "amount": float(amount),
                "balance": float(self.balance),
                "transactionType": "Credit" if amount > 0 else "Debit",
            })
        return out

    def rewind(self, batch: list[dict]):
        """Undo next_batch's balance step (the batch was not accepted and is not resent)."""
        self.balance -= sum(Decimal(str(t["amount"])) for t in batch)


class Bench:
    """Fresh database + sandbox + API servers; `accounts(n)` connects n companies."""

    def __init__(self, *, db_name="bankfeeds_bench", api_workers=2, api_threads=4, sandbox_workers=2,
                 sandbox_threads=4, raise_limits=True, conn_max_age=600, keep=False, static=False):
        self.db_name = db_name
        self.api_port, self.sandbox_port = _free_port(), _free_port()
        self.env = env_for(db_name, self.api_port, self.sandbox_port, raise_limits=raise_limits,
                           conn_max_age=conn_max_age)
        self.sizes = (api_workers, api_threads, sandbox_workers, sandbox_threads)
        self.keep = keep
        self.static = static  # pages are served (DEBUG off needs the collected static files' manifest)
        self.servers: list[Server] = []
        self.logdir = ROOT / "var" / "bench"

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self):
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        self.logdir.mkdir(parents=True, exist_ok=True)
        _psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        _psql(f'CREATE DATABASE "{self.db_name}"')
        _redis_flush()
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("sandbox_seed", verbosity=0)
        call_command("sandbox_app", "Bank feeds portal", redirect_uris=[f"{settings.SITE_URL}/portal/xero/callback"],
                     client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET,
                     stdout=open(os.devnull, "w"))
        if self.static:
            call_command("collectstatic", interactive=False, verbosity=0)
        aw, at, sw, st = self.sizes
        try:
            self.sandbox = start_gunicorn("sandbox", self.sandbox_port, self.env, workers=sw, threads=st,
                                          logdir=self.logdir)
            self.servers.append(self.sandbox)
            self.api = start_gunicorn("api", self.api_port, self.env, workers=aw, threads=at, logdir=self.logdir)
            self.servers.append(self.api)
        except Exception:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        for server in reversed(self.servers):
            server.stop()
        from django.db import connections

        connections.close_all()
        if not self.keep:
            _psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            _redis_flush()
        return False

    # -- data --------------------------------------------------------------------------

    def partner(self, name: str):
        from apps.tenants.models import Partner, PartnerApiKey

        partner = Partner.objects.create(name=name, slug=f"bench-{uuid.uuid4().hex[:10]}")
        _, raw = PartnerApiKey.issue(partner)
        return partner, raw

    def connected_account(self, partner, raw_key, *, org_name: str, account_id="acc-1") -> Account:
        """A company of `partner` linked (OAuth over HTTP) to a new sandbox organisation, with
        one source account mapped to a new Xero bank account through our own client."""
        from django.utils import timezone

        from apps.feeds.models import FeedConnection, FeedStatus, SourceAccount, SourceAccountStatus
        from apps.tenants.models import Company
        from apps.xero_auth import client, connections, oauth, tokens
        from apps.xero_sandbox.services import organisation_create

        org = organisation_create(name=org_name, currency="GBP")
        company = Company.objects.create(partner=partner, name=f"{org_name} Ltd")
        connection = connections.connection_create(company=company)
        session = {}
        url = oauth.oauth_start(connection=connection, session=session)
        answer = requests.get(url, params={"sandbox_approve": [str(org.tenant_id)]}, allow_redirects=False,
                              timeout=30)
        assert answer.status_code == 302, answer.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
        connection, organisations = oauth.oauth_callback(session=session, params=query)
        connection = connections.connection_link(connection=connection, organisation=organisations[0])

        source = SourceAccount.objects.create(
            connection=connection, account_id=account_id, account_name="Business Current",
            account_type="checking", account_number=f"{uuid.uuid4().int % 10**8:08d}", currency="GBP",
            balance=Decimal("1000.00"))
        token = f"bf-{uuid.uuid4().hex[:24]}"
        feed_id = tokens.xero_call(connection, client.create_feed_connection, item={
            "accountToken": token, "accountNumber": source.account_number, "accountName": "Business Current",
            "accountType": "BANK", "currency": "GBP"})
        FeedConnection.objects.create(source_account=source, xero_feed_connection_id=feed_id, account_token=token,
                                      status=FeedStatus.CONNECTED, connected_at=timezone.now())
        source.status = SourceAccountStatus.CONNECTED
        source.feed_start_date = timezone.now().date() - timedelta(days=364)
        source.save()
        return Account(company_id=str(company.id), connection_id=str(connection.id), account_id=account_id,
                       feed_connection_id=feed_id, tenant_id=str(org.tenant_id), partner_key=raw_key)

    def access_token(self, account: Account) -> str:
        """The connection's current Xero access token (for calling the sandbox directly)."""
        from apps.xero_auth.models import XeroConnection

        return XeroConnection.objects.get(pk=account.connection_id).access_token


def machine() -> dict:
    """What the figures ran on."""
    import platform

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1])
    import django

    pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
                        capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "python": platform.python_version(), "django": django.get_version(), "postgresql": pg}


def print_machine():
    m = machine()
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM; Python {m['python']}, "
          f"Django {m['django']}, PostgreSQL {m['postgresql']}")
