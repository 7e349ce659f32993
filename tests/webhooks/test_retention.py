"""Retention of the webhooks' history: `prune_webhook_history` deletes old events with their
deliveries and attempts once nothing of them is still being delivered, and refuses a
retention shorter than the retry schedule needs."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Event
from apps.webhooks.retention import prune_history

pytestmark = pytest.mark.django_db


def _event(partner, consumer, *, days_ago, status=DeliveryStatus.DELIVERED, fanned_out=True):
    event = Event.objects.create(partner=partner, event_type="company.created", body="{}", fanned_out=fanned_out,
                                 generated=timezone.now() - timedelta(days=days_ago))
    if fanned_out:
        delivery = Delivery.objects.create(event=event, consumer=consumer, status=status, attempts=2)
        for n in range(2):
            Attempt.objects.create(delivery=delivery, at=event.generated + timedelta(minutes=n), status_code=500)
    return event


def test_old_finished_events_go_with_their_deliveries_and_attempts_and_the_rest_stay(partner_a, consumer):
    partner = partner_a.partner
    old = [_event(partner, consumer, days_ago=100 + n) for n in range(3)]
    old_failed = _event(partner, consumer, days_ago=120, status=DeliveryStatus.FAILED)
    still_retried = _event(partner, consumer, days_ago=120, status=DeliveryStatus.PENDING)  # replayed, say
    not_fanned_out = _event(partner, consumer, days_ago=120, fanned_out=False)
    recent = _event(partner, consumer, days_ago=10)

    assert prune_history(older_than=timedelta(days=90), batch=2) == 4

    kept = set(Event.objects.values_list("pk", flat=True))
    assert kept == {still_retried.pk, not_fanned_out.pk, recent.pk}
    assert not Event.objects.filter(pk__in=[e.pk for e in [*old, old_failed]]).exists()
    assert set(Delivery.objects.values_list("event_id", flat=True)) == {still_retried.pk, recent.pk}
    assert Attempt.objects.count() == 4  # the two kept deliveries' own


def test_the_command_uses_the_setting_and_refuses_a_retention_inside_the_retry_schedule(partner_a, consumer,
                                                                                        settings, capsys):
    settings.WEBHOOK_HISTORY_RETENTION_DAYS = 30
    _event(partner_a.partner, consumer, days_ago=40)
    _event(partner_a.partner, consumer, days_ago=20)

    call_command("prune_webhook_history")
    assert "Deleted 1 webhook events older than 30 days" in capsys.readouterr().out
    assert Event.objects.count() == 1

    with pytest.raises(CommandError, match="below 7"):
        call_command("prune_webhook_history", "--days", "3")
    assert Event.objects.count() == 1
