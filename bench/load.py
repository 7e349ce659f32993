"""Load: 16 partners pushing 100-transaction batches to 50 connected companies for a fixed
time, on gunicorn + PostgreSQL + Redis, with the sandbox ("Xero") in a gunicorn of its own.

Each partner is a thread with its own keep-alive HTTP session and API key; it pushes to
its companies' accounts in turn (never two pushes at once to one account, as a partner
would), with fresh ids, dates within the last year and consecutive balances. A push is
accepted when it answers 200 with Pending or Success (Xero took the statement); any
other answer is resent unchanged next time (the documented way to recover: a resend is
recognised, never delivered twice). After the push phase every Pending operation is read
back once, as a partner would, which asks Xero and must answer Success. Rate limits, ours and the
sandbox's, are raised through the environment for the run (Xero's real 60/min per
organisation would cap 50 organisations at 50 pushes/s).

After the run the sandbox's delivered statement lines are checked per feed against what
was accepted: none lost, none doubled, none delivered that the partner was not told of.
Then, for scale, /healthz is driven with the same concurrency on the same server.

    .venv/bin/python bench/load.py [--seconds 60] [--partners 16] [--companies 50] [--batch 100]
        [--api-workers N --api-threads N]  (default: the product's gunicorn settings)
"""

import argparse
import collections
import json
import os
import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Bench, peak_rss_kib, print_machine  # noqa: E402
from config import gunicorn as web  # noqa: E402 - the web process's own settings

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / TICK


def pids_named(name) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def system_busy() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_threads(target, arguments) -> float:
    """Run target once per argument tuple, each in its own thread; the seconds it took."""
    threads = [threading.Thread(target=target, args=a) for a in arguments]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--partners", type=int, default=16)
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--health-seconds", type=float, default=10)
    # The API as the product runs it (config/gunicorn.py: WEB_CONCURRENCY, WEB_THREADS; 2 x 4
    # by default). Until 2026-12-02 this bench ran 4 workers x 4 threads, which on 2 cores
    # cost ~0.5 ms more API CPU per push for the same throughput.
    parser.add_argument("--api-workers", type=int, default=web.workers)
    parser.add_argument("--api-threads", type=int, default=web.threads)
    parser.add_argument("--sandbox-workers", type=int, default=4)
    parser.add_argument("--sandbox-threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    print_machine()
    print(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"servers: API gunicorn {args.api_workers} workers x {args.api_threads} threads; sandbox gunicorn "
          f"{args.sandbox_workers} x {args.sandbox_threads}; PostgreSQL, Redis; rate limits raised to 1e9 via "
          f"XERO_TENANT_* and XERO_SANDBOX_* env")
    with Bench(db_name="bankfeeds_load", api_workers=args.api_workers, api_threads=args.api_threads,
               sandbox_workers=args.sandbox_workers, sandbox_threads=args.sandbox_threads, keep=args.keep) as bench:
        started_setup = time.monotonic()
        partners = [bench.partner(f"Load Partner {i}") for i in range(args.partners)]
        accounts = collections.defaultdict(list)  # partner index -> accounts
        for c in range(args.companies):
            p = c % args.partners
            accounts[p].append(bench.connected_account(*partners[p], org_name=f"Load Org {c:03d}"))
        print(f"setup: {args.partners} partners, {args.companies} companies linked and mapped over HTTP "
              f"in {time.monotonic() - started_setup:.1f} s")

        first_day = date.today() - timedelta(days=330)
        latencies, statuses, lock = [], collections.Counter(), threading.Lock()
        accepted = collections.defaultdict(list)  # account -> transaction ids the partner was told are in
        pending = []  # (account, push operation key) answered Pending: read back after the run
        unresolved = {}
        stop_at = time.monotonic() + args.seconds

        def partner_loop(mine):
            session = requests.Session()
            retry = {}
            my_latencies, my_statuses = [], collections.Counter()
            turn = 0
            while time.monotonic() < stop_at:
                account = mine[turn % len(mine)]
                turn += 1
                batch = retry.pop(account.account_id + account.company_id, None) or \
                    account.next_batch(args.batch, first_day)
                body = json.dumps({"accountId": account.account_id, "transactions": batch})
                t0 = time.perf_counter()
                try:
                    response = session.post(bench.api.url + account.push_path, data=body, timeout=60,
                                            headers={"Authorization": account.auth,
                                                     "Content-Type": "application/json"})
                    status = response.status_code
                    answer = response.json()
                    ok = status == 200 and answer.get("status") in ("Pending", "Success")
                except (requests.RequestException, ValueError) as exc:
                    status, ok = type(exc).__name__, False
                my_latencies.append(time.perf_counter() - t0)
                my_statuses[status if ok else f"{status} not taken" if status == 200 else status] += 1
                if ok:
                    accepted[account].extend(t["id"] for t in batch)
                    if answer["status"] == "Pending":
                        pending.append((account, answer["pushOperationKey"]))
                else:
                    retry[account.account_id + account.company_id] = batch
            with lock:
                latencies.extend(my_latencies)
                statuses.update(my_statuses)
                for key, batch in retry.items():
                    unresolved[key] = len(batch)

        api_workers = bench.api.worker_pids()
        groups = {"api workers": lambda: api_workers, "sandbox workers": bench.sandbox.worker_pids,
                  "postgres": lambda: pids_named("postgres"), "redis": lambda: pids_named("redis-server"),
                  "load client (this process)": lambda: [os.getpid()]}
        cpu_before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        busy_before = system_busy()
        elapsed = run_threads(partner_loop, [(accounts[p],) for p in range(args.partners)])
        busy_after = system_busy()
        cpu_after = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        api_peak = max(peak_rss_kib(pid) for pid in api_workers)
        sandbox_peak = max(peak_rss_kib(pid) for pid in bench.sandbox.worker_pids())

        ok_pushes = statuses.get(200, 0)
        errors = sum(n for s, n in statuses.items() if s != 200)
        total_txns = sum(len(ids) for ids in accepted.values())
        lat = sorted(latencies)
        print()
        print(f"push phase: {elapsed:.1f} s, {args.partners} partners, batches of {args.batch}")
        print(f"  pushes accepted:      {ok_pushes}  ({ok_pushes / elapsed:.1f} pushes/s)")
        print(f"  transactions/s:       {total_txns / elapsed:.0f}  ({total_txns} accepted)")
        print(f"  latency p50 / p99:    {percentile(lat, 50) * 1000:.0f} ms / {percentile(lat, 99) * 1000:.0f} ms "
              f"(mean {statistics.fmean(lat or [0]) * 1000:.0f} ms, max {max(lat or [0]) * 1000:.0f} ms)")
        print(f"  errors:               {errors}  {dict((str(k), v) for k, v in statuses.items() if k != 200)}")
        print(f"  unresolved at stop:   {len(unresolved)} batches ({sum(unresolved.values())} transactions) "
              f"left to resend")
        print(f"  peak RSS of a web worker (VmHWM): API {api_peak / 1024:.0f} MiB, sandbox {sandbox_peak / 1024:.0f} "
              f"MiB")
        busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
        print(f"  CPU: machine {busy * 100:.0f}% busy of {os.cpu_count()} cores; seconds of CPU per second of run:")
        for name in groups:
            print(f"    {name:28s} {(cpu_after[name] - cpu_before[name]) / elapsed:5.2f}")
        print(f"  CPU ms per accepted push of {args.batch} transactions (target: API <= 7, half of round 1's "
              "14.8 on its machine; bench/cpu_against.py compares with round 1's code on this one):")
        for name in groups:
            print(f"    {name:28s} {(cpu_after[name] - cpu_before[name]) * 1000 / max(ok_pushes, 1):6.2f}")

        # ---- the partner reads each Pending operation back once ------------------------
        confirmed, to_read = collections.Counter(), list(pending)

        def confirm_loop():
            session, mine = requests.Session(), collections.Counter()
            while True:
                with lock:
                    if not to_read:
                        break
                    account, key = to_read.pop()
                try:
                    response = session.get(f"{bench.api.url}/api/companies/{account.company_id}/push/{key}",
                                           headers={"Authorization": account.auth}, timeout=60)
                    mine[response.json().get("status") if response.status_code == 200 else response.status_code] += 1
                except (requests.RequestException, ValueError) as exc:
                    mine[type(exc).__name__] += 1
            with lock:
                confirmed.update(mine)

        c_elapsed = run_threads(confirm_loop, [()] * args.partners)
        print(f"  read back:            {len(pending)} Pending operations in {c_elapsed:.1f} s "
              f"({len(pending) / max(c_elapsed, 1e-9):.0f} reads/s): {dict(confirmed)}")

        # ---- zero lost, zero doubled: the sandbox's delivered lines per feed ----------
        from django.db.models import Count

        from apps.feeds.models import BankTransaction
        from apps.xero_sandbox.models import Statement, StatementLine

        lost = doubled = unexpected = ours_mismatch = 0
        all_accounts = [a for mine in accounts.values() for a in mine]
        for account in all_accounts:
            lines = StatementLine.objects.filter(feed_connection_id=account.feed_connection_id,
                                                 statement__status=Statement.DELIVERED)
            delivered = list(lines.values_list("transaction_id", flat=True))
            distinct = set(delivered)
            mine = set(accepted[account])
            lost += len(mine - distinct)
            doubled += len(delivered) - len(distinct)
            unexpected += len(distinct - mine)
            ours = BankTransaction.objects.filter(source_account__connection_id=account.connection_id,
                                                  push_operation__delivered=True).count()
            ours_mismatch += abs(ours - len(distinct))
        dup_ids = (StatementLine.objects.filter(statement__status=Statement.DELIVERED)
                   .values("feed_connection_id", "transaction_id").annotate(n=Count("id")).filter(n__gt=1).count())
        total_lines = StatementLine.objects.filter(statement__status=Statement.DELIVERED).count()
        print()
        print(f"check against the sandbox: {total_lines} delivered statement lines on {len(all_accounts)} feeds, "
              f"{total_txns} accepted")
        print(f"  lost (accepted, not in Xero):             {lost}")
        print(f"  doubled (same transactionId twice):       {doubled} (SQL group check: {dup_ids})")
        print(f"  delivered but not acknowledged:           {unexpected}")
        print(f"  our delivered rows vs Xero's, difference: {ours_mismatch}")
        all_success = set(confirmed) <= {"Success"}
        print(f"  verdict: {'OK' if lost == doubled == dup_ids == ours_mismatch == 0 and all_success else 'PROBLEM'}")

        # ---- /healthz for scale ---------------------------------------------------------
        health_stop = time.monotonic() + args.health_seconds
        health = collections.Counter()

        def health_loop():
            session, n, bad = requests.Session(), 0, 0
            while time.monotonic() < health_stop:
                try:
                    ok = session.get(bench.api.url + "/healthz", timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                n, bad = n + 1, bad + (not ok)
            with lock:
                health.update(ok=n - bad, bad=bad)

        h_elapsed = run_threads(health_loop, [()] * args.partners)
        print()
        print(f"/healthz, same server, {args.partners} concurrent clients, {h_elapsed:.1f} s: "
              f"{health['ok'] / h_elapsed:.0f} requests/s ({health['bad']} errors)")


if __name__ == "__main__":
    main()
