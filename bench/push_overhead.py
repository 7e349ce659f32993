"""What our push adds on top of Xero: pushes of 1000 and of 10 transactions through the
partner API against posting the same statement straight to the sandbox with a plain HTTP
client, both sizes in one run.

Both sides run against the same servers (the API's gunicorn, and the sandbox's own
gunicorn that the API calls, as DESIGN.md "Processes" says). Each round uses fresh
transaction ids, dates within the last year and balances that continue the account's
last statement; the order of the two sides alternates between rounds. The push side is
the partner's whole request: validation, storage, POST Statements, recording Xero's
answer and the 1000-item answer. The direct side only POSTs.

    .venv/bin/python bench/push_overhead.py [--rounds 15] [--sizes 1000,10]

Prints, for each size, each side's median, the median of the per-round ratios (targets:
1000 lines at most 1.25, 10 lines at most 1.5) and our own time per push (the median of
push minus direct POST in the same round).
"""

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Bench, print_machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sizes", default="1000,10", help="comma-separated batch sizes")
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--api-threads", type=int, default=4)
    parser.add_argument("--sandbox-workers", type=int, default=2)
    parser.add_argument("--sandbox-threads", type=int, default=4)
    parser.add_argument("--conn-max-age", type=int, default=600, help="CONN_MAX_AGE of both servers")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    print_machine()
    print(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with Bench(db_name="bankfeeds_bench", api_workers=args.api_workers, api_threads=args.api_threads,
               sandbox_workers=args.sandbox_workers, sandbox_threads=args.sandbox_threads,
               conn_max_age=args.conn_max_age, keep=args.keep) as bench:
        from apps.feeds import statements
        from apps.feeds.serializers import read_transactions

        partner, key = bench.partner("Overhead Bank")
        pushed = bench.connected_account(partner, key, org_name="Overhead Push Org")
        direct = bench.connected_account(partner, key, org_name="Overhead Direct Org")
        token = bench.access_token(direct)
        api, xero = requests.Session(), requests.Session()
        api.headers.update({"Authorization": pushed.auth, "Content-Type": "application/json"})
        xero.headers.update({"Authorization": f"Bearer {token}", "Xero-Tenant-Id": direct.tenant_id,
                             "Accept": "application/json", "Content-Type": "application/json"})
        sizes = [int(n) for n in args.sizes.split(",")]
        first_day = date.today() - timedelta(days=len(sizes) * (args.rounds + args.warmup) + 5)

        def push_side(size):
            batch = pushed.next_batch(size, first_day)
            body = json.dumps({"accountId": pushed.account_id, "transactions": batch})
            started = time.perf_counter()
            response = api.post(bench.api.url + pushed.push_path, data=body, timeout=120)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:2000]
            answer = response.json()
            assert answer["status"] in ("Pending", "Success"), answer["status"]  # Xero took it
            assert len(answer["data"]["transactions"]) == size
            return elapsed

        def direct_side(size):
            checked = read_transactions(direct.next_batch(size, first_day))
            assert not checked.errors, checked.errors[:3]
            statement = statements.build_statement(checked.transactions,
                                                   feed_connection_id=direct.feed_connection_id)
            body = f'{{"items":[{statement.json}]}}'  # the very bytes our client posts
            started = time.perf_counter()
            response = xero.post(f"{bench.sandbox.url}/xero-sandbox/bankfeeds.xro/1.0/Statements", data=body,
                                 headers={"Idempotency-Key": statement.idempotency_key}, timeout=120)
            elapsed = time.perf_counter() - started
            assert response.status_code == 202, response.text[:2000]
            return elapsed

        results = {size: ([], [], []) for size in sizes}  # pushes, posts, ratios
        for n in range(args.warmup + args.rounds):
            for size in sizes:
                if (n + sizes.index(size)) % 2:
                    d = direct_side(size)
                    p = push_side(size)
                else:
                    p = push_side(size)
                    d = direct_side(size)
                if n >= args.warmup:
                    pushes, posts, ratios = results[size]
                    pushes.append(p)
                    posts.append(d)
                    ratios.append(p / d)
                    print(f"round {n - args.warmup + 1:2d}, {size:4d} lines: push {p * 1000:7.1f} ms  direct POST "
                          f"{d * 1000:7.1f} ms  ratio {p / d:5.2f}", flush=True)

        print()
        print(f"load average now: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        targets = {1000: 1.25, 10: 1.5}
        for size in sizes:
            pushes, posts, ratios = results[size]
            median_ratio = statistics.median(ratios)
            ours = statistics.median(p - d for p, d in zip(pushes, posts, strict=True))
            target = targets.get(size)
            verdict = f" (target <= {target}: {'met' if median_ratio <= target else 'MISSED'})" if target else ""
            print(f"{size} transactions, {args.rounds} rounds (after {args.warmup} warm-up):")
            print(f"  push through the partner API, median: {statistics.median(pushes) * 1000:.1f} ms "
                  f"(min {min(pushes) * 1000:.1f}, max {max(pushes) * 1000:.1f})")
            print(f"  same statement straight to the sandbox, median: {statistics.median(posts) * 1000:.1f} ms "
                  f"(min {min(posts) * 1000:.1f}, max {max(posts) * 1000:.1f})")
            print(f"  median ratio push / direct: {median_ratio:.2f}{verdict}")
            print(f"  our own time per push (median of push - direct): {ours * 1000:.1f} ms")


if __name__ == "__main__":
    main()
