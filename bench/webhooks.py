"""Webhook delivery: how many events one relay delivers per second to a local receiver,
and the lag from an event's commit to its arrival at a steady 200 events a second.

Sets up a fresh PostgreSQL database (`bankfeeds_webhooks_bench`, dropped at the end), a
partner with one consumer of every event type at a receiver in a process of its own (a
threaded http.server on loopback answering 200 with keep-alive, noting each arrival's
time), and one relay: `manage.py deliver_webhooks` in a
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
    """Answers 200 at once and writes `webhook-id arrival-time` to its log, one per line."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a partner's web server does
    log = None
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        with self.lock:
            self.log.write(f"{self.headers['webhook-id']} {now}\n")
            self.log.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve_receiver(port: int, log_path: str):
    Receiver.log = open(log_path, "w")  # noqa: SIM115 - open while the server runs
    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


def arrivals(log_path) -> dict[str, float]:
    """First arrival time of each webhook-id so far."""
    seen = {}
    for line in Path(log_path).read_text().splitlines():
        event_id, _, at = line.partition(" ")
        if at:
            seen.setdefault(event_id, float(at))
    return seen


def start_relay(env, log):
    return subprocess.Popen([sys.executable, "manage.py", "deliver_webhooks", "--no-upkeep"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(log_path, count, timeout) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while len(seen := arrivals(log_path)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--receiver", nargs=2, metavar=("PORT", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        return serve_receiver(int(args.receiver[0]), args.receiver[1])

    logdir = ROOT / "var" / "bench"
    logdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port), str(logdir / "received-1.log")],
                                start_new_session=True)
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
    consumer_create(partner=partner, url=f"http://127.0.0.1:{port}/hooks",
                    event_types=list(EVENT_TYPES))
    company = Company.objects.create(partner=partner, name="Bench Co", tags={"region": "uk"})
    payload = company_details(company)

    def commit_one():
        with transaction.atomic():
            event = emit(company=company, event_type=COMPANY_CREATED, payload=payload)
        return str(event.id), time.time()

    relay = None
    try:
        print_machine()
        for _ in range(args.backlog):
            commit_one()
        relay = start_relay(env, (logdir / "relay-throughput.log").open("w"))
        seen = wait_for(logdir / "received-1.log", args.backlog, timeout=600)
        stop(relay)
        times = sorted(seen.values())
        elapsed = times[-1] - times[0]
        print(f"throughput: {len(seen)} of {args.backlog} events delivered by one relay in {elapsed:.2f} s "
              f"(first to last arrival): {len(seen) / elapsed:.0f} events/s")

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
        seen = wait_for(logdir / "received-1.log", args.backlog + len(committed), timeout=120)
        lags = [(seen[i] - at) * 1000 for i, at in committed.items() if i in seen]
        print(f"lag at {achieved:.0f} events/s for {args.seconds} s: {len(lags)} of {len(committed)} delivered; "
              f"commit to arrival p50 {percentile(lags, 50):.1f} ms, p99 {percentile(lags, 99):.1f} ms, "
              f"max {max(lags):.1f} ms")
    finally:
        if relay is not None and relay.poll() is None:
            stop(relay)
        stop(receiver)
        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
