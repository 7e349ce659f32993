"""Where a 1000-transaction push spends its time: the partner API runs in this process
under cProfile (Django's test client, no network on our side), the sandbox stays in its
own gunicorn, reached over HTTP as in production. Also times the sandbox's
GET Statements/{id} alone, which reading a Pending operation back pays for.

    .venv/bin/python bench/profile_push.py [--pushes 10] [--top 35]
"""

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-profile", action="store_true", help="only time the in-process pushes")
    args = parser.parse_args()

    with Bench(db_name="bankfeeds_bench_profile") as bench:
        from django.test import Client

        partner, key = bench.partner("Profile Bank")
        account = bench.connected_account(partner, key, org_name="Profile Org")
        api = Client(HTTP_AUTHORIZATION=account.auth, SERVER_NAME="127.0.0.1")
        first_day = date.today() - timedelta(days=args.pushes + 5)

        def push():
            body = json.dumps({"accountId": account.account_id,
                               "transactions": account.next_batch(args.size, first_day)})
            response = api.post(account.push_path, data=body, content_type="application/json")
            assert response.status_code == 200, response.content[:500]
            return response.json()

        push()  # warm-up
        profiler = cProfile.Profile()
        wall = []
        for _ in range(args.pushes):
            started = time.perf_counter()
            if not args.no_profile:
                profiler.enable()
            answer = push()
            if not args.no_profile:
                profiler.disable()
            wall.append(time.perf_counter() - started)
        print(f"in-process push (cProfile {'off' if args.no_profile else 'on'}), "
              f"median {statistics.median(wall) * 1000:.1f} ms")
        if not args.no_profile:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())

        from apps.feeds.models import PushOperation

        statement_id = PushOperation.objects.get(push_operation_key=answer["pushOperationKey"]).xero_statement_id
        xero = requests.Session()
        xero.headers.update({"Authorization": f"Bearer {bench.access_token(account)}",
                             "Xero-Tenant-Id": account.tenant_id, "Accept": "application/json"})
        gets = []
        for _ in range(args.pushes):
            started = time.perf_counter()
            response = xero.get(f"{bench.sandbox.url}/xero-sandbox/bankfeeds.xro/1.0/Statements/{statement_id}")
            gets.append(time.perf_counter() - started)
            assert response.status_code == 200
        print(f"sandbox GET Statements/{{id}} ({args.size} lines), median {statistics.median(gets) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
