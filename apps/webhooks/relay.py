"""The relay (`manage.py deliver_webhooks`): fans each new event of the outbox out to
the consumers that want it, and delivers what is due, retrying on the schedule below.

Several relays may run on PostgreSQL: each takes a batch of rows with SELECT … FOR
UPDATE SKIP LOCKED and keeps them locked while it sends, so no two relays send the same
delivery; a relay that dies mid-batch rolls back, and its batch is sent again (at least
once: receivers recognise a resend by its webhook-id). On SQLite, which has no row
locks, run one. New events wake the relay at once on PostgreSQL (a trigger NOTIFYs at
commit); otherwise it looks every WEBHOOK_POLL_SECONDS.

Beside delivery the relay runs the upkeep the partner's webhooks depend on, in a thread of
its own: the sweep that settles pushes still Pending after a minute, and the daily check
that each linked organisation is still connected to the app in Xero."""

import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.feeds.push import push_sweep
from apps.xero_auth import client
from apps.xero_auth.connections import connection_check
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from apps.xero_auth.refusals import ConnectionRefused

from . import sending
from .models import Attempt, Delivery, DeliveryStatus, Event, WebhookConsumer

logger = logging.getLogger(__name__)

# After the first attempt fails, the next ones follow these delays; then the delivery fails.
RETRY_DELAYS = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
DISABLE_AFTER = timedelta(days=5)
DISABLED_FAILING = "Every attempt failed for 5 days (since {since:%Y-%m-%d %H:%M} UTC); the last: {last}."
NOTIFY_CHANNEL = "webhook_events"
FAN_OUT_BATCH = 500
DELIVERY_BATCH = 64
CHECK_EVERY = timedelta(days=1)
SWEEP_SECONDS = 15
CHECKS_PER_PASS = 20


def fan_out() -> int:
    """Turn new events into deliveries to the consumers of their partner that want them
    (enabled, created before the event, subscribed, tags matching). Returns the events done."""
    with transaction.atomic():
        events = list(Event.objects.select_for_update(skip_locked=True).filter(fanned_out=False)
                      .order_by("generated")[:FAN_OUT_BATCH])
        if not events:
            return 0
        consumers = defaultdict(list)
        for consumer in WebhookConsumer.objects.filter(partner_id__in={e.partner_id for e in events}, disabled=False):
            consumers[consumer.partner_id].append(consumer)
        Delivery.objects.bulk_create([
            Delivery(event=event, consumer=consumer, next_attempt_at=event.generated)
            for event in events for consumer in consumers[event.partner_id]
            if consumer.created <= event.generated and consumer.wants(event)
        ], ignore_conflicts=True)
        Event.objects.filter(pk__in=[e.pk for e in events]).update(fanned_out=True)
    return len(events)


def _record(delivery: Delivery, outcome: sending.Outcome) -> dict:
    """What the attempt changes on the delivery (the same for every delivery of a batch
    that got the same answer at the same point of the schedule)."""
    attempts = delivery.attempts + 1
    change = {"attempts": attempts, "last_status_code": outcome.status_code, "last_error": outcome.error}
    if outcome.delivered:
        change["status"] = DeliveryStatus.DELIVERED
    elif attempts > len(RETRY_DELAYS):
        change["status"] = DeliveryStatus.FAILED
    else:
        change["retry_after"] = RETRY_DELAYS[attempts - 1]
    return change


def _save_outcomes(results: list[tuple[Delivery, sending.Outcome]], at) -> None:
    """One UPDATE per kind of outcome (usually one: all delivered), rather than one per row."""
    groups = defaultdict(list)
    for delivery, outcome in results:
        groups[tuple(sorted(_record(delivery, outcome).items()))].append(delivery.pk)
    for change, pks in groups.items():
        values = dict(change, last_attempt_at=at)
        retry_after = values.pop("retry_after", None)
        if retry_after is not None:
            values["next_attempt_at"] = at + retry_after
        if values.get("status") == DeliveryStatus.DELIVERED:
            values["delivered_at"] = at
        Delivery.objects.filter(pk__in=pks).update(**values)


def _judge_consumers(results: list[tuple[Delivery, sending.Outcome]]) -> None:
    """A consumer that answered is healthy again; one failing for five days is disabled."""
    by_consumer = defaultdict(list)
    for delivery, outcome in results:
        by_consumer[delivery.consumer_id].append(outcome)
    for consumer_id, outcomes in by_consumer.items():
        consumers = WebhookConsumer.objects.filter(pk=consumer_id)
        if any(o.delivered for o in outcomes):
            consumers.filter(failing_since__isnull=False).update(failing_since=None)
            continue
        last = outcomes[-1]
        consumers.filter(failing_since__isnull=True).update(failing_since=last.at)
        since = consumers.values_list("failing_since", flat=True).first()
        if since is not None and last.at - since >= DISABLE_AFTER:
            reason = DISABLED_FAILING.format(since=since, last=last.error or f"HTTP {last.status_code}")
            consumers.filter(disabled=False).update(disabled=True, disabled_reason=reason)
            logger.warning("Webhook consumer %s disabled: %s", consumer_id, reason)


def _send(delivery: Delivery) -> sending.Outcome:
    return sending.attempt(url=delivery.consumer.url, msg_id=str(delivery.event_id), body=delivery.event.body,
                           secrets=delivery.consumer.signing_secrets())


def deliver_due(pool: ThreadPoolExecutor) -> int:
    """Attempt one batch of due deliveries (locked while they are sent) and record each
    answer. Returns how many were attempted."""
    with transaction.atomic():
        batch = list(Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("event", "consumer")
                     .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now(),
                             consumer__disabled=False)
                     .order_by("next_attempt_at")[:DELIVERY_BATCH])
        if not batch:
            return 0
        results = list(zip(batch, pool.map(_send, batch), strict=True))
        _save_outcomes(results, at=timezone.now())
        Attempt.objects.bulk_create([Attempt(delivery=d, at=o.at, status_code=o.status_code, error=o.error,
                                             duration_ms=o.duration_ms) for d, o in results])
        _judge_consumers(results)
    return len(batch)


def connections_check(*, limit: int = CHECKS_PER_PASS) -> int:
    """Ask Xero, once a day per linked connection, whether its organisation is still
    connected to the app (connection_check marks it Deauthorized when not). Each is claimed
    by moving its checked_at, so several relays never ask twice. Returns how many were asked."""
    cutoff = timezone.now() - CHECK_EVERY
    due = (XeroConnection.objects.filter(status=ConnectionStatus.LINKED)
           .filter(Q(checked_at__lt=cutoff) | Q(checked_at__isnull=True))
           .order_by("checked_at").values_list("pk", "checked_at")[:limit])
    asked = 0
    for pk, checked_at in due:
        if not XeroConnection.objects.filter(pk=pk, checked_at=checked_at).update(checked_at=timezone.now()):
            continue
        try:
            connection_check(connection=XeroConnection.objects.get(pk=pk))
        except (client.XeroError, ConnectionRefused) as exc:
            logger.info("Connection %s not checked: %s", pk, exc)
        asked += 1
    return asked


class Relay:
    """The relay's loops; `stop` ends them after the batch in hand."""

    def __init__(self, *, upkeep: bool = True):
        self.stop = threading.Event()
        self.upkeep = upkeep
        self.pool = ThreadPoolExecutor(max_workers=settings.WEBHOOK_RELAY_CONCURRENCY,
                                       thread_name_prefix="webhook-send")
        self._listener = None
        self.handled = 0

    def run_once(self) -> int:
        """One round: fan out and deliver until nothing new is due. Returns rows handled."""
        handled = 0
        while True:
            done = fan_out() + deliver_due(self.pool)
            handled += done
            self.handled += done
            if not done:
                return handled

    def run(self, *, exit_when_idle: bool = False) -> None:
        upkeep = None
        if self.upkeep:
            upkeep = threading.Thread(target=self._upkeep_loop, name="webhook-upkeep", daemon=True)
            upkeep.start()
        try:
            while not self.stop.is_set():
                if not self.run_once():
                    if exit_when_idle:
                        return
                    close_old_connections()
                    self._wait(settings.WEBHOOK_POLL_SECONDS)
        finally:
            self.stop.set()
            self.pool.shutdown(wait=True)
            if self._listener is not None:
                self._listener.close()
            if upkeep is not None:
                upkeep.join(settings.XERO_TIMEOUT_SECONDS + 5)

    def _wait(self, seconds: float) -> None:
        """Sleep until a new event is committed (PostgreSQL's NOTIFY) or `seconds` pass."""
        listener = self._listen()
        if listener is None:
            self.stop.wait(seconds)
            return
        for _ in listener.notifies(timeout=seconds, stop_after=1):
            pass

    def _listen(self):
        if connection.vendor != "postgresql":
            return None
        if self._listener is None or self._listener.closed:
            import psycopg

            # Django's own connection parameters (sslmode and other OPTIONS included), less
            # what only Django's cursors use.
            params = {k: v for k, v in connection.get_connection_params().items()
                      if k not in ("cursor_factory", "context")}
            self._listener = psycopg.connect(**params, autocommit=True)
            self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._listener

    def _upkeep_loop(self) -> None:
        while not self.stop.is_set():
            try:
                push_sweep()
                connections_check()
            except Exception:  # one bad pass must not stop the next
                logger.exception("Webhook relay upkeep failed")
            finally:
                close_old_connections()
            self.stop.wait(SWEEP_SECONDS)
