"""Webhook delivery: how many events one relay delivers per second to a local receiver,
and the lag from an event's commit to its arrival at a steady 200 events a second.

Sets up a fresh PostgreSQL database (`bankfeeds_webhooks_bench`, dropped at the end), a
partner with one consumer of every event type at a receiver in this process (a threaded
http.server on loopback answering 200), and one relay: `manage.py deliver_webhooks` in a
process of its own, as the Procfile runs it. Events are written the way the domain writes
them (apps.webhooks.events.emit, each in its own committed transaction).

1. Throughput: `--backlog` events are committed first, then the relay starts; events/s is
   the backlog over the time from the first arrival to the last.
2. Lag: with the relay running, events are committed at `--rate` a second for
   `--seconds`; each one's lag is its arrival time minus the moment its commit returned.

    .venv/bin/python bench/webhooks.py [--backlog 5000] [--rate 200] [--seconds 30]
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import PG, _psql, print_machine  # noqa: E402

DB_NAME = "bankfeeds_webhooks_bench"


class Receiver(BaseHTTPRequestHandler):
    arrivals: dict = {}
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        with self.lock:
            self.arrivals.setdefault(self.headers["webhook-id"], now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_relay(env, log):
    return subprocess.Popen([sys.executable, "manage.py", "deliver_webhooks", "--no-upkeep"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(count, timeout):
    deadline = time.monotonic() + timeout
    while len(Receiver.arrivals) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(Receiver.arrivals)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # No Redis: delivery needs none (the relay's upkeep, left out here, does).
    env = {"DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "config.settings",
           "DEBUG": "0", "WEBHOOK_ALLOW_LOOPBACK": "1", "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "600"}
    os.environ.update(env)
    _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{DB_NAME}"')
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction

    from apps.tenants.models import Company, Partner
    from apps.webhooks.consumers import consumer_create
    from apps.webhooks.events import COMPANY_CREATED, EVENT_TYPES, company_details, emit

    call_command("migrate", verbosity=0, interactive=False)
    partner = Partner.objects.create(name="Bench Bank", slug=f"bench-{uuid.uuid4().hex[:8]}")
    consumer_create(partner=partner, url=f"http://127.0.0.1:{server.server_port}/hooks",
                    event_types=list(EVENT_TYPES))
    company = Company.objects.create(partner=partner, name="Bench Co", tags={"region": "uk"})
    payload = company_details(company)

    def commit_one():
        with transaction.atomic():
            event = emit(company=company, event_type=COMPANY_CREATED, payload=payload)
        return str(event.id), time.time()

    logdir = ROOT / "var" / "bench"
    logdir.mkdir(parents=True, exist_ok=True)
    relay = None
    try:
        print_machine()
        for _ in range(args.backlog):
            commit_one()
        relay = start_relay(env, (logdir / "relay-throughput.log").open("w"))
        got = wait_for(args.backlog, timeout=600)
        stop(relay)
        times = sorted(Receiver.arrivals.values())
        elapsed = times[-1] - times[0]
        print(f"throughput: {got} of {args.backlog} events delivered by one relay in {elapsed:.2f} s "
              f"(first to last arrival): {got / elapsed:.0f} events/s")

        Receiver.arrivals.clear()
        relay = start_relay(env, (logdir / "relay-lag.log").open("w"))
        time.sleep(3)  # the relay is up and listening
        committed = {}
        interval = 1 / args.rate
        start = time.monotonic()
        for n in range(args.rate * args.seconds):
            pause = start + n * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            event_id, at = commit_one()
            committed[event_id] = at
        achieved = len(committed) / (time.monotonic() - start)
        got = wait_for(len(committed), timeout=120)
        lags = [(Receiver.arrivals[i] - at) * 1000 for i, at in committed.items() if i in Receiver.arrivals]
        print(f"lag at {achieved:.0f} events/s for {args.seconds} s: {got} of {len(committed)} delivered; "
              f"commit to arrival p50 {percentile(lags, 50):.1f} ms, p99 {percentile(lags, 99):.1f} ms, "
              f"max {max(lags):.1f} ms")
    finally:
        if relay is not None and relay.poll() is None:
            stop(relay)
        server.shutdown()
        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
