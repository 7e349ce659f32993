"""How long the webhooks' history is kept: each event with its deliveries and their
attempts, which admin shows and staff replay from. Without pruning the three tables grow
with every push and change for ever (`manage.py prune_webhook_history`, run daily)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import DeliveryStatus, Event

# Past the retry schedule (relay.RETRY_DELAYS: ~28 hours) with days to spare, so that
# nothing still being delivered, or just given up on and worth a replay, is pruned.
MIN_RETENTION = timedelta(days=7)
PRUNE_BATCH = 500


def _prunable(before):
    """Events generated before `before`, fanned out, none of whose deliveries is pending."""
    return (Event.objects.filter(generated__lt=before, fanned_out=True)
            .exclude(deliveries__status=DeliveryStatus.PENDING))


def prune_history(*, older_than: timedelta, batch: int = PRUNE_BATCH) -> int:
    """Delete the events generated more than `older_than` ago, with their deliveries and
    attempts, once fanned out and with no delivery still pending (a replay makes one
    pending again), `batch` events at a time, oldest first, each batch its own short
    transaction. Returns how many events were deleted."""
    if older_than < MIN_RETENTION:
        raise ValueError(f"a retention below {MIN_RETENTION.days} days could delete deliveries still being retried")
    before = timezone.now() - older_than
    deleted = 0
    while True:
        ids = list(_prunable(before).order_by("generated").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            # The condition again, under the delete: a replay since the read keeps its event.
            _, per_model = _prunable(before).filter(pk__in=ids).delete()
        deleted += per_model.get(Event._meta.label, 0)
