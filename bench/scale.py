"""Flat cost as data grows: the same requests against a fresh database and against one
grown (with COPY, not the API) to 10,000 companies, 20,000 source accounts, 100,000
push operations and 1,000,000 stored transactions, measured in one run.

Each side is a child process of this script with its own database, its own API and
sandbox gunicorns (bench/harness.py) and the same measured set, made through the real
flows: partner P with 300 companies named "Acme …", one of them (C) linked to a sandbox
organisation over OAuth with one mapped account that has 110 pushes of 100 transactions
(so that every list shows full pages on both sides), a portal user who is a member of C,
and a staff user. The grown side adds, older than
the measured set: 9,700 more companies of P (so P has 10,000, none named Acme), each
with a linked connection and two source accounts with feeds; 5,000 older pushes of 10
transactions on C's account (a company with a long history); 95,000 pushes spread over
the other accounts; 1,000,000 stored transactions in all. Then ANALYZE and VACUUM, as
autovacuum would get to.

The parent drives both sides over HTTP in alternation (one request each, scenario by
scenario, round after round) and prints each side's median, the ratio grown / fresh and
the SQL statements each request ran (counted in the child, in-process, with Django's
test client: the same code path without the network). Target: every ratio <= 1.2 and
the same number of statements.

    .venv/bin/python bench/scale.py [--rounds 25]
"""

import argparse
import base64
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Account, Bench, print_machine  # noqa: E402

COMPANIES, SOURCE_ACCOUNTS, OPERATIONS, TRANSACTIONS = 10_000, 20_000, 100_000, 1_000_000
MEASURED_COMPANIES, MEASURED_PUSHES, HISTORY_OF_C = 300, 110, 5_000
BATCH = 100


def scenarios(side: dict) -> dict:
    """name -> (method, path, query params, which auth)."""
    c = side["account"]["company_id"]
    return {
        f"push of {BATCH} transactions": ("POST", None, None, "partner"),
        "GET /companies?page=2&pageSize=50": ("GET", "/api/companies", {"page": 2, "pageSize": 50}, "partner"),
        "GET /companies?page=2&pageSize=50&query=name~acme": (
            "GET", "/api/companies", {"page": 2, "pageSize": 50, "query": "name~acme"}, "partner"),
        "GET /companies/C/push?pageSize=20 (C's pushes)": ("GET", f"/api/companies/{c}/push", {"pageSize": 20},
                                                           "partner"),
        "portal manage page of C": ("GET", f"/portal/companies/{c}/feeds/", None, "member"),
        "admin push operation list": ("GET", "/admin/feeds/pushoperation/", None, "staff"),
    }


# --- the child: one side ------------------------------------------------------------------


def measured_set(bench):
    """The partner, companies, connected account, pushes and users both sides share."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.tenants.models import Company, CompanyMembership

    partner, key = bench.partner("Scale Bank")
    account = bench.connected_account(partner, key, org_name="Acme Measured")
    Company.objects.bulk_create([Company(partner=partner, name=f"Acme {i:03d} Ltd")
                                 for i in range(MEASURED_COMPANIES - 1)])
    first_day = date.today() - timedelta(days=60)
    api = requests.Session()
    api.headers.update({"Authorization": account.auth, "Content-Type": "application/json"})
    for _ in range(MEASURED_PUSHES):
        body = json.dumps({"accountId": account.account_id, "transactions": account.next_batch(BATCH, first_day)})
        answer = api.post(bench.api.url + account.push_path, data=body, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        assert answer.json()["status"] in ("Pending", "Success"), answer.text[:500]
    users = get_user_model()
    member = users.objects.create_user(username="member@example.com", email="member@example.com", password="x")
    CompanyMembership.objects.create(user=member, company_id=account.company_id)
    staff = users.objects.create_superuser(username="staff", email="staff@example.com", password="x")
    sessions = {}
    for name, user in (("member", member), ("staff", staff)):
        client = Client()
        client.force_login(user)
        sessions[name] = client.cookies["sessionid"].value
    return partner, account, first_day, sessions


def grow(partner, account):
    """COPY the grown side's rows in, older than the measured set."""
    from django.db import connection
    from django.utils import timezone

    from apps.feeds.models import BankTransaction, FeedConnection, PushOperation, SourceAccount
    from apps.tenants.models import Company
    from apps.xero_auth.models import ConnectionStatus, XeroConnection
    from bench.seed import analyze, copy_models, copy_values

    rng = random.Random(3)
    now = timezone.now()
    started = time.monotonic()
    extra = COMPANIES - MEASURED_COMPANIES
    companies = [{"id": uuid.uuid4(), "partner_id": partner.pk, "name": f"Grown {i:05d} Trading",
                  "created": now - timedelta(days=800) + timedelta(minutes=i)} for i in range(extra)]
    copy_models(Company, companies)
    connections = [{"id": uuid.uuid4(), "company_id": c["id"], "status": ConnectionStatus.LINKED,
                    "tenant_id": uuid.uuid4(), "tenant_name": c["name"], "linked_at": c["created"],
                    "created": c["created"]} for c in companies]
    copy_models(XeroConnection, connections)
    first_source = (SourceAccount.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    per_company = (SOURCE_ACCOUNTS - 1) // extra + 1
    sources = []
    for conn in connections:
        for k in range(per_company):
            if len(sources) >= SOURCE_ACCOUNTS - 1:
                break
            sources.append({"id": first_source + len(sources), "connection_id": conn["id"], "account_id": f"acc-{k}",
                            "account_name": f"Account {k}", "account_type": "checking", "currency": "GBP",
                            "status": "connected", "balance": Decimal("1000.00"), "created": conn["created"],
                            "_company": conn["company_id"]})
    copy_models(SourceAccount, sources)
    copy_models(FeedConnection, [{"source_account_id": s["id"], "xero_feed_connection_id": uuid.uuid4(),
                                  "account_token": f"bf-{s['id']}", "status": "connected",
                                  "connected_at": s["created"]} for s in sources])

    # Push operations: C's long history first, then the rest spread over the grown accounts.
    c_source = SourceAccount.objects.get(connection_id=account.connection_id, account_id=account.account_id)
    owners = [(account.company_id, account.connection_id, c_source.pk, account.account_id)] * HISTORY_OF_C
    owners += [(s["_company"], s["connection_id"], s["id"], s["account_id"])
               for s in rng.choices(sources, k=OPERATIONS - MEASURED_PUSHES - HISTORY_OF_C)]
    per_operation = TRANSACTIONS // OPERATIONS
    operations, lines = [], []
    oldest = now - timedelta(days=400)
    for i, (company_id, connection_id, source_id, account_id) in enumerate(owners):
        key = uuid.uuid4()
        requested = oldest + timedelta(seconds=i * 300)
        day = requested.date()
        operations.append({"push_operation_key": key, "company_id": company_id, "connection_id": connection_id,
                           "source_account_id": source_id, "account_id": account_id, "status": "Success",
                           "status_code": 200, "requested_on": requested, "completed_on": requested,
                           "validation": {"errors": [], "warnings": []}, "xero_statement_id": uuid.uuid4(),
                           "statement_start_date": day, "statement_end_date": day,
                           "statement_start_balance": Decimal("1000.00"), "statement_end_balance": Decimal("1010.00"),
                           "transaction_count": per_operation, "statement_key": key.hex, "delivered": True})
        at = requested.replace(hour=9, minute=0, second=0, microsecond=0)
        for n in range(per_operation):
            lines.append((key, source_id, f"grown-{i}-{n}", at, f"Card payment {n}", f"Merchant {n % 97}",
                          f"REF{i:08d}", None, Decimal("1.00"), Decimal("1000.00") + n, "Debit"))
    # The measured pushes are not part of the grown rows but count towards the totals.
    copy_models(PushOperation, operations)
    copy_values(BankTransaction, ["push_operation", "source_account", "transaction_id", "date", "description",
                                  "counterparty", "reference", "reconciled", "amount", "balance",
                                  "transaction_type"], lines)
    analyze(Company, XeroConnection, SourceAccount, FeedConnection, PushOperation, BankTransaction)
    connection.ensure_connection()
    autocommit = connection.connection.autocommit
    connection.connection.autocommit = True  # VACUUM cannot run inside a transaction
    with connection.cursor() as cursor:
        for model in (Company, XeroConnection, SourceAccount, PushOperation, BankTransaction):
            cursor.execute(f"VACUUM {model._meta.db_table}")
    connection.connection.autocommit = autocommit
    return time.monotonic() - started


def sizes() -> dict:
    from django.db import connection

    from apps.feeds.models import BankTransaction, PushOperation
    from apps.tenants.models import Company

    out = {}
    with connection.cursor() as cursor:
        for model in (BankTransaction, PushOperation, Company):
            table = model._meta.db_table
            cursor.execute("SELECT count(*), pg_relation_size(%s), pg_indexes_size(%s), pg_total_relation_size(%s) "
                           "FROM " + connection.ops.quote_name(table), [table] * 3)
            rows, heap, indexes, total = cursor.fetchone()
            out[table] = {"rows": rows, "heap": heap, "indexes": indexes, "total": total}
    return out


def statements_per_request(bench, side, account: Account, first_day):
    """SQL statements each scenario runs, in-process (one push included)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # Both sides count a push that follows a settled one, as in the timed rounds (where the
    # list of C's pushes settles each): growing the database takes longer than
    # SETTLE_RECHECK, after which the push would first ask Xero about the one before it.
    settle = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=account.auth)
    assert settle.get(f"/api/companies/{account.company_id}/push").status_code == 200
    counts = {}
    for name, (method, path, params, who) in scenarios(side).items():
        client = Client(SERVER_NAME="127.0.0.1")
        if who == "partner":
            client.defaults["HTTP_AUTHORIZATION"] = account.auth
        else:
            client.cookies["sessionid"] = side["sessions"][who]
        with CaptureQueriesContext(connection) as captured:
            if method == "POST":
                body = json.dumps({"accountId": account.account_id,
                                   "transactions": account.next_batch(BATCH, first_day)})
                response = client.post(account.push_path, data=body, content_type="application/json")
            else:
                response = client.get(path, params or {})
        assert response.status_code == 200, (name, response.status_code, response.content[:300])
        counts[name] = len(captured)
    return counts


def child(side_name: str):
    grown = side_name == "grown"
    with Bench(db_name=f"bankfeeds_scale_{side_name}", static=True) as bench:
        partner, account, first_day, sessions = measured_set(bench)
        seconds = grow(partner, account) if grown else 0
        side = {"name": side_name, "api": bench.api.url, "sessions": sessions, "grow_seconds": seconds,
                "first_day": first_day.isoformat()}
        side["account"] = {k: getattr(account, k) for k in ("company_id", "connection_id", "account_id",
                                                            "feed_connection_id", "tenant_id", "partner_key")}
        side["statements"] = statements_per_request(bench, side, account, first_day)
        side["account"].update(balance=str(account.balance), day=account.day, serial=next(account.serial),
                               run=account.run)
        side["sizes"] = sizes()
        print("READY " + json.dumps(side), flush=True)
        for command in sys.stdin:  # until the parent is done
            if command.strip() == "prune":
                print("PRUNED " + json.dumps(prune()), flush=True)


def prune() -> dict:
    """Time the retention command's work at the shortest retention allowed."""
    from apps.feeds.models import BankTransaction
    from apps.feeds.store import MIN_RETENTION, prune_delivered_lines

    before = BankTransaction.objects.count()
    started = time.monotonic()
    deleted = prune_delivered_lines(older_than=MIN_RETENTION)
    return {"deleted": deleted, "seconds": time.monotonic() - started, "before": before, "days": MIN_RETENTION.days}


# --- the parent ---------------------------------------------------------------------------


def start_side(name):
    process = subprocess.Popen([sys.executable, __file__, "--side", name], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("READY "):
            return process, json.loads(line[6:])
        print(f"  [{name}] {line.rstrip()}")
    raise RuntimeError(f"the {name} side ended before it was ready (exit {process.wait()})")


def account_of(side) -> Account:
    a = dict(side["account"])
    serial, balance = a.pop("serial"), Decimal(a.pop("balance"))
    day, run = a.pop("day"), a.pop("run")
    return Account(**a, balance=balance, day=day, serial=itertools.count(serial), run=run)


def request_once(side, account, first_day, scenario):
    method, path, params, who = scenario
    headers = {}
    if who == "partner":
        headers["Authorization"] = "Basic " + base64.b64encode(side["account"]["partner_key"].encode()).decode()
    else:
        headers["Cookie"] = f"sessionid={side['sessions'][who]}"
    session = side.setdefault("_http", requests.Session())
    if method == "POST":
        body = json.dumps({"accountId": account.account_id, "transactions": account.next_batch(BATCH, first_day)})
        headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        response = session.post(side["api"] + account.push_path, data=body, headers=headers, timeout=60)
    else:
        started = time.perf_counter()
        response = session.get(side["api"] + path, params=params, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return elapsed, response


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--side", choices=["fresh", "grown"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        return child(args.side)

    print_machine()
    print(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    sides, processes = [], []
    try:
        for name in ("fresh", "grown"):
            started = time.monotonic()
            process, side = start_side(name)
            processes.append(process)
            sides.append(side)
            print(f"{name} side ready in {time.monotonic() - started:.0f} s"
                  + (f" (COPY of the grown rows, ANALYZE, VACUUM: {side['grow_seconds']:.0f} s)" if name == "grown"
                     else ""), flush=True)
        for side in sides:
            print(f"  {side['name']:5s}: " + ", ".join(f"{t} {s['rows']:,} rows" for t, s in side["sizes"].items()))
        grown_tx = sides[1]["sizes"]["feeds_banktransaction"]
        mib = 1024 * 1024
        print(f"disk of feeds_banktransaction on the grown side: {grown_tx['rows']:,} rows, table "
              f"{grown_tx['heap'] / mib:.0f} MiB + indexes {grown_tx['indexes'] / mib:.0f} MiB = "
              f"{grown_tx['total'] / mib:.0f} MiB ({grown_tx['total'] / grown_tx['rows']:.0f} bytes a row)")

        accounts = [account_of(s) for s in sides]
        first_days = [date.fromisoformat(s["first_day"]) for s in sides]
        names = list(scenarios(sides[0]))
        times = {(name, i): [] for name in names for i in (0, 1)}
        totals = {}
        for r in range(args.warmup + args.rounds):
            for name in names:
                order = (0, 1) if (r + names.index(name)) % 2 == 0 else (1, 0)
                for i in order:
                    elapsed, response = request_once(sides[i], accounts[i], first_days[i], scenarios(sides[i])[name])
                    if r >= args.warmup:
                        times[(name, i)].append(elapsed)
                    if response.headers.get("Content-Type", "").startswith("application/json"):
                        totals[(name, i)] = response.json().get("totalResults")
        print(f"\n{args.rounds} rounds (after {args.warmup} warm-up), the two sides alternating; load average now "
              f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        print(f"{'request':52s} {'fresh ms':>9s} {'grown ms':>9s} {'ratio':>6s} {'SQL fresh/grown':>16s}  "
              f"totalResults fresh/grown")
        worst = 0
        for name in names:
            fresh, grown = (statistics.median(times[(name, i)]) * 1000 for i in (0, 1))
            ratio = grown / fresh
            worst = max(worst, ratio)
            sql = [s["statements"][name] for s in sides]
            total = [totals.get((name, i)) for i in (0, 1)]
            print(f"{name:52s} {fresh:9.1f} {grown:9.1f} {ratio:6.2f} {sql[0]:>7d} / {sql[1]:<7d}"
                  f"{'' if sql[0] == sql[1] else ' DIFFERENT'}  "
                  + (f"{total[0]} / {total[1]}" if total[0] is not None else ""))
        same = all(sides[0]["statements"][n] == sides[1]["statements"][n] for n in names)
        print(f"\nworst ratio {worst:.2f} (target <= 1.2: {'met' if worst <= 1.2 else 'MISSED'}); same SQL statement "
              f"counts: {'yes' if same else 'NO'}")

        grown = processes[1]
        grown.stdin.write("prune\n")
        grown.stdin.flush()
        for line in grown.stdout:
            if line.startswith("PRUNED "):
                p = json.loads(line[7:])
                print(f"retention on the grown side: prune_delivered_lines at {p['days']} days deleted "
                      f"{p['deleted']:,} of {p['before']:,} stored transactions in {p['seconds']:.1f} s")
                break
    finally:
        for process in processes:
            process.stdin.close()
        for process in processes:
            process.wait(120)


if __name__ == "__main__":
    main()
