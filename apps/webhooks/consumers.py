"""Use cases of webhook consumers, for the partner API and admin: create, delete, rotate
the signing secret, send a test event, replay a delivery."""

from django.db import transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.core.refusals import Refused, item

from .events import EVENT_TYPES, TEST_EVENT, codat_datetime
from .models import Delivery, DeliveryStatus, Event, WebhookConsumer, new_secret
from .urlpolicy import check_url

MAX_CONSUMERS = 50
REQUEST_INVALID = "The request made is not valid."
TOO_MANY = "A partner has at most {limit} webhook consumers; delete one first."
EVENT_TYPES_EMPTY = "eventTypes must list at least one event type."
EVENT_TYPE_UNKNOWN = "eventTypes: {name!r} is not an event this service sends; it sends: {known}."
TAGS_INVALID = "companyTags must be at most 10 strings of the form tagKey:tagValue, each at most 128 characters."


def consumer_create(*, partner, url: str, event_types: list[str], company_tags: list[str] | None = None,
                    disabled: bool = False) -> WebhookConsumer:
    """A consumer of the partner with a new signing secret (on the returned object, to be
    shown once). Refuses a URL outside the policy (urlpolicy) and event types not sent here."""
    errors = []
    if not event_types:
        errors.append(item(EVENT_TYPES_EMPTY, item_id="eventTypes"))
    errors += [item(EVENT_TYPE_UNKNOWN.format(name=name, known=", ".join(EVENT_TYPES)), item_id="eventTypes")
               for name in event_types if name not in EVENT_TYPES]
    tags = company_tags or []
    if len(tags) > 10 or any(":" not in t or len(t) > 128 for t in tags):
        errors.append(item(TAGS_INVALID, item_id="companyTags"))
    if errors:
        raise Refused(REQUEST_INVALID, errors=errors)
    check_url(url)
    with transaction.atomic():
        if WebhookConsumer.objects.select_for_update().filter(partner=partner).count() >= MAX_CONSUMERS:
            raise Refused(TOO_MANY.format(limit=MAX_CONSUMERS))
        return WebhookConsumer.objects.create(partner=partner, url=url, event_types=list(dict.fromkeys(event_types)),
                                              company_tags=company_tags, disabled=disabled, secret=new_secret())


def consumer_delete(*, consumer: WebhookConsumer) -> None:
    """Remove the consumer; what was not delivered to it yet goes with it."""
    consumer.delete()


def consumer_enable(*, consumer: WebhookConsumer) -> None:
    """Staff turn a disabled consumer back on; its pending deliveries resume."""
    WebhookConsumer.objects.filter(pk=consumer.pk).update(disabled=False, disabled_reason="", failing_since=None)


def consumer_send_test(*, consumer: WebhookConsumer) -> Event:
    """Queue a `webhook.test` event for this consumer alone, whatever it subscribed to."""
    now = timezone.now()
    with transaction.atomic():
        event = Event(partner_id=consumer.partner_id, event_type=TEST_EVENT, generated=now, fanned_out=True)
        event.body = JSONRenderer().render({
            "id": str(event.id), "eventType": TEST_EVENT, "generatedDate": codat_datetime(now),
            "payload": {"consumerId": str(consumer.id), "message": "A test event sent by staff."}}).decode()
        event.save()
        Delivery.objects.create(event=event, consumer=consumer, next_attempt_at=now)
    return event


def delivery_replay(*, delivery: Delivery) -> None:
    """Send a delivery again from the start of the schedule (same webhook-id)."""
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, attempts=0,
                                                   next_attempt_at=timezone.now(), delivered_at=None)
