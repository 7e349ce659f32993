"""Where a push spends its time, two ways:

- in-process (default): the partner API runs in this process under cProfile (Django's
  test client, no network on our side), the sandbox in its own gunicorn, reached over HTTP
  as in production. Also times the sandbox's GET Statements/{id} alone.
- under load (`--load SECONDS`): partners push `--size` transaction batches from threads
  to the API's gunicorn while py-spy samples every API worker (a local tool, installed in
  the venv, not a project dependency) the thread holding the GIL in every API worker, so
  waiting is not counted; prints the functions by share of those samples, inclusive and
  self.

    .venv/bin/python bench/profile_push.py [--pushes 10] [--top 35]
    .venv/bin/python bench/profile_push.py --load 30 --size 100 [--top 40]
"""

import argparse
import collections
import cProfile
import io
import json
import pstats
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import VENV_BIN, Bench  # noqa: E402

_LINE = re.compile(r" \((?P<file>[^():]+)(?::\d+)?\)$")


def _function(frame: str) -> str:
    """'render (rest_framework/renderers.py:103)' -> 'render (rest_framework/renderers.py)'."""
    frame = _LINE.sub(lambda m: f" ({m['file'].split('site-packages/')[-1]})", frame)
    return frame.replace(str(Path(__file__).resolve().parent.parent) + "/", "")


def py_spy_profile(bench, args):
    """Push from threads for args.load seconds while py-spy samples the API workers."""
    partner, key = bench.partner("Profile Bank")
    accounts = [bench.connected_account(partner, key, org_name=f"Profile Org {i}") for i in range(args.partners)]
    first_day = date.today() - timedelta(days=300)
    stop_at = time.monotonic() + args.load
    pushed = collections.Counter()

    def partner_loop(account):
        session = requests.Session()
        session.headers.update({"Authorization": account.auth, "Content-Type": "application/json"})
        while time.monotonic() < stop_at:
            body = json.dumps({"accountId": account.account_id,
                               "transactions": account.next_batch(args.size, first_day)})
            response = session.post(bench.api.url + account.push_path, data=body, timeout=60)
            pushed[response.status_code] += 1

    outputs, spies = [], []
    for pid in bench.api.worker_pids():
        out = bench.logdir / f"py-spy-{pid}.txt"
        outputs.append(out)
        spies.append(subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "250", "--gil",
                                       "--format", "raw", "--output", str(out), "--duration", str(int(args.load))],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    threads = [threading.Thread(target=partner_loop, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for spy in spies:
        spy.wait(60)

    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for out in outputs:
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [_function(f) for f in stack.split(";")[1:]]  # the first frame is the thread
            n = int(count)
            total += n
            for name in set(frames):
                inclusive[name] += n
            if frames:
                own[frames[-1]] += n
    print(f"{sum(pushed.values())} pushes of {args.size} in {args.load:.0f} s ({dict(pushed)}), "
          f"{len(outputs)} API workers sampled at 250 Hz (only the thread holding the GIL): {total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\ntop {args.top} by {title} share of the samples:")
        for name, n in counter.most_common(args.top):
            print(f"  {n * 100 / total:5.1f} %  {name}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-profile", action="store_true", help="only time the in-process pushes")
    parser.add_argument("--load", type=float, help="profile the API gunicorn with py-spy for this many seconds")
    parser.add_argument("--partners", type=int, default=8, help="pushing threads (one account each) under --load")
    args = parser.parse_args()

    if args.load:
        with Bench(db_name="bankfeeds_bench_profile", api_workers=2, api_threads=4, sandbox_workers=2) as bench:
            py_spy_profile(bench, args)
        return
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
