"""Token upkeep at scale: 100,000 linked connections with a realistic mix of activity,
seeded with COPY (ours and the sandbox's grants and refresh tokens, so every refresh is a
real call to the sandbox's identity server in its own gunicorn).

Prints, in one run:
- the selection's query plan on the seeded table (a range scan of the partial index);
- one day of beat passes (every 5 minutes, 288 passes run here against a clock shifted
  5 minutes a pass, their batches run in this process): the identity calls they make,
  against the budget 1.1 x (connections that pushed that day + connections reaching 50
  idle days), and the SQL queries per pass;
- the wall time of one pass through real Celery workers (1, then 2 worker processes) on
  Redis, for a pass with a backlog (`--backlog` connections idle for 50 days, as after a
  beat outage of a day or two), and the same for a steady-state pass.

The mix (seeded random, `--seed`): 5 % busy (refreshed within the last half hour, push
all day), 30 % daily, 15 % weekly, 15 % monthly (last refresh uniformly within their
period, push today with probability 1, 1/7, 1/30), 35 % dormant (linked but no longer
pushing: their refresh tokens are 0-50 days old, kept alive only by the beat).
Connections that push refresh inline when their access token has expired; the beat
never refreshes them, so the mix only decides how many reach 50 idle days.

    .venv/bin/python bench/token_upkeep.py [--connections 100000] [--backlog 1000]
"""

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import VENV_BIN, Bench, print_machine  # noqa: E402
from bench.load import cpu_seconds, pids_named  # noqa: E402

DAY = timedelta(days=1)
PERIOD = timedelta(minutes=5)
# (name, share, period of their activity, probability of pushing today)
MIX = [("busy", 0.05, timedelta(minutes=30), 1.0), ("daily", 0.30, DAY, 1.0),
       ("weekly", 0.15, 7 * DAY, 1 / 7), ("monthly", 0.15, 30 * DAY, 1 / 30),
       ("dormant", 0.35, 50 * DAY, 0.0)]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def seed(bench, n: int, rng: random.Random, now):
    """n Linked connections (one company each) and, in the sandbox, a grant and an unused
    refresh token for each. Returns (connections pushing today, reaching 50 idle days today)."""
    from django.conf import settings

    from apps.tenants.models import Company
    from apps.xero_auth.models import ConnectionStatus, XeroConnection
    from apps.xero_auth.tokens import REFRESH_TOKEN_MAX_IDLE
    from apps.xero_sandbox.models import Grant, RefreshToken, SandboxApp
    from bench.seed import analyze, copy_models

    partner, _ = bench.partner("Upkeep Bank")
    app = SandboxApp.objects.get(client_id=settings.XERO_CLIENT_ID)
    scopes = " ".join(settings.XERO_SCOPES)
    first_grant = (Grant.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    companies, grants, refresh_tokens, ours = [], [], [], []
    pushing = reaching = 0
    classes = rng.choices(MIX, weights=[m[1] for m in MIX], k=n)
    for i, (name, _, period, p_push) in enumerate(classes):
        issued = now - period * rng.random()
        pushing += rng.random() < p_push
        reaching += name == "dormant" and issued < now + DAY - REFRESH_TOKEN_MAX_IDLE
        company_id, token = uuid.uuid4(), secrets.token_urlsafe(32)
        companies.append({"id": company_id, "partner_id": partner.pk, "name": f"Upkeep {name} {i}"})
        grants.append({"id": first_grant + i, "app_id": app.pk, "scopes": scopes, "created_at": issued})
        refresh_tokens.append({"grant_id": first_grant + i, "token": token, "created_at": issued})
        ours.append({"id": uuid.uuid4(), "company_id": company_id, "status": ConnectionStatus.LINKED,
                     "linked_at": issued, "tenant_id": uuid.uuid4(), "tenant_name": f"Org {i}",
                     "access_token": secrets.token_urlsafe(32), "refresh_token": token,
                     "access_token_expires_at": issued + timedelta(minutes=30),
                     "refresh_token_issued_at": issued, "scopes": scopes})
    copy_models(Company, companies)
    copy_models(Grant, grants)
    copy_models(RefreshToken, refresh_tokens)
    copy_models(XeroConnection, ours)
    analyze(Company, Grant, RefreshToken, XeroConnection)
    return pushing, reaching


def refresh_count() -> int:
    from django.conf import settings

    from apps.xero_sandbox.models import SandboxApp

    return SandboxApp.objects.get(client_id=settings.XERO_CLIENT_ID).refresh_count


def simulate_day(start):
    """288 passes at start + 5, 10, ... minutes, batches run here. Returns (identity
    calls made, refreshed per pass, queries per pass, seconds per pass)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.xero_auth import tokens

    calls_before = refresh_count()
    per_pass, queries, seconds = [], [], []
    for k in range(1, int(DAY / PERIOD) + 1):
        cache.delete(tokens.UPKEEP_LOCK)  # the previous pass's deadline has passed on this clock
        batches = []
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            tokens.upkeep_pass(dispatch=lambda *batch: batches.append(batch), now=start + k * PERIOD)  # noqa: B023
            done = sum(tokens.tokens_keep_alive(connection_ids=ids, deadline=deadline) for ids, deadline in batches)
        seconds.append(time.perf_counter() - started)
        per_pass.append(done)
        queries.append(len(captured))
    return refresh_count() - calls_before, per_pass, queries, seconds


def start_workers(n, env, logdir):
    procs = []
    for i in range(n):
        log = (Path(logdir) / f"celery-{i}.log").open("w")
        procs.append(subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "config", "worker", "--pool", "solo", "--hostname", f"upkeep{i}@%h",
             "--without-gossip", "--without-mingle", "--loglevel", "info"],
            cwd=Path(__file__).resolve().parent.parent, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
    from config.celery import app

    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=1)) < n:
        if time.monotonic() > deadline:
            stop_workers(procs)
            raise RuntimeError(f"celery workers did not start; see {logdir}/celery-*.log")
    return procs


def stop_workers(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def age(count):
    """Make `count` dormant connections 51 days idle: a backlog for one pass."""
    from django.utils import timezone

    from apps.xero_auth.models import XeroConnection

    ids = list(XeroConnection.objects.filter(company__name__startswith="Upkeep dormant")
               .order_by("refresh_token_issued_at").values_list("pk", flat=True)[:count])
    XeroConnection.objects.filter(pk__in=ids).update(refresh_token_issued_at=timezone.now() - timedelta(days=51))
    return len(ids)


def batches_run(logdir, workers) -> list[int]:
    """How many batch tasks each worker ran (from its log)."""
    return [(Path(logdir) / f"celery-{i}.log").read_text().count("token_upkeep_batch[") // 2
            for i in range(workers)]


def pass_through_workers(workers, backlog, bench):
    """One pass (the beat task) run by `workers` Celery worker processes: wall time from
    queuing the beat task until every due connection has been refreshed, and the CPU
    seconds the workers, the sandbox and PostgreSQL spent meanwhile."""
    from django.core.cache import cache

    from apps.xero_auth import tasks, tokens

    aged = age(backlog)
    cache.delete(tokens.UPKEEP_LOCK)
    procs = start_workers(workers, bench.env, bench.logdir)
    groups = {"celery workers": lambda: [p.pid for p in procs], "sandbox": bench.sandbox.worker_pids,
              "postgres": lambda: pids_named("postgres")}
    try:
        calls_before = refresh_count()
        cpu = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        started = time.monotonic()
        tasks.token_upkeep.delay()
        limit = started + tokens.UPKEEP_DEADLINE.total_seconds() + 30
        while tokens.connections_needing_upkeep(limit=1) or refresh_count() - calls_before < aged:
            if time.monotonic() > limit:
                break
            time.sleep(0.05)
        wall = time.monotonic() - started
        cpu = {name: cpu_seconds(pids()) - cpu[name] for name, pids in groups.items()}
        left = len(tokens.connections_needing_upkeep())
    finally:
        stop_workers(procs)
    return aged, wall, refresh_count() - calls_before, left, cpu, batches_run(bench.logdir, workers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--backlog", type=int, default=1000, help="connections due in the measured backlog pass")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    print_machine()
    print(f"load average at start: {load()}")
    with Bench(db_name="bankfeeds_upkeep", api_workers=1, api_threads=1, keep=args.keep) as bench:
        from django.db import connection
        from django.utils import timezone

        from apps.xero_auth import tokens
        from apps.xero_auth.models import ConnectionStatus, XeroConnection

        rng = random.Random(args.seed)
        now = timezone.now()
        t0 = time.monotonic()
        pushing, reaching = seed(bench, args.connections, rng, now)
        print(f"seeded {args.connections} linked connections (COPY, ours and the sandbox's) in "
              f"{time.monotonic() - t0:.1f} s; mix: " + ", ".join(f"{m[0]} {m[1]:.0%}" for m in MIX))

        due = XeroConnection.objects.filter(status=ConnectionStatus.LINKED,
                                            refresh_token_issued_at__lt=now - tokens.REFRESH_TOKEN_MAX_IDLE)
        sql, params = due.order_by("refresh_token_issued_at").values_list("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql} LIMIT {tokens.UPKEEP_PASS_LIMIT}", params)
            plan = [row[0] for row in cursor.fetchall()]
        print("\nthe selection's plan (LIMIT one pass):\n  " + "\n  ".join(plan))

        old_per_day = args.connections * (DAY / timedelta(minutes=25))
        print(f"\nbefore (every Linked connection refreshed about every 25 minutes): ~{old_per_day:,.0f} identity "
              f"calls a day, all in one task a pass")

        calls, per_pass, queries, seconds = simulate_day(now)
        budget = 1.1 * (pushing + reaching)
        print(f"\none day of beat passes ({len(per_pass)} passes, clock shifted 5 minutes a pass):")
        print(f"  identity calls made by the passes:   {calls}  (refreshed: {sum(per_pass)})")
        print(f"  connections that pushed that day:    {pushing}")
        print(f"  connections reaching 50 idle days:   {reaching}")
        print(f"  budget 1.1 x (pushed + reaching 50): {budget:,.0f}  -> "
              f"{'met' if calls <= budget else 'MISSED'} ({calls / budget:.3f} of it)")
        print(f"  refreshed per pass: median {statistics.median(per_pass):.0f}, max {max(per_pass)}")
        print("  SQL statements per pass (the selection; per refresh BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT): "
              f"median {statistics.median(queries):.0f}, max {max(queries)}, total {sum(queries)}")
        print(f"  in-process wall time per pass: median {statistics.median(seconds) * 1000:.0f} ms, max "
              f"{max(seconds) * 1000:.0f} ms")

        print("\none pass through real Celery workers (beat task -> batches of "
              f"{tokens.UPKEEP_BATCH} on Redis -> --pool solo workers):")
        for workers in (1, 2):
            for label, size in (("steady-state pass", max(per_pass)), ("backlog pass", args.backlog)):
                print(f"  load average {load()}", flush=True)
                aged, wall, made, left, cpu, batches = pass_through_workers(workers, size, bench)
                print(f"  {workers} worker{'s' if workers > 1 else ' '}, {label:17s}: {aged:5d} due -> {made:5d} "
                      f"identity calls in {wall:6.2f} s ({made / wall:5.1f}/s), {left} left for the next pass; "
                      f"target < 60 s: {'met' if wall < 60 and not left else 'MISSED'}", flush=True)
                print("      batches run per worker: " + ", ".join(map(str, batches)) + "; CPU ms per refresh: "
                      + ", ".join(f"{name} {seconds * 1000 / max(made, 1):.1f}" for name, seconds in cpu.items()))


if __name__ == "__main__":
    main()
