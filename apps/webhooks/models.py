"""Webhook consumers (a partner's endpoints), the outbox of events, and each event's
delivery to each consumer with its attempts."""

import base64
import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.tenants.models import Partner
from apps.xero_auth.crypto import EncryptedTextField

SECRET_PREFIX = "whsec_"
# A rotated-out secret still signs for this long, so the partner can switch without a gap.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64, as Svix makes them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookConsumer(models.Model):
    """A partner's HTTP endpoint for the event types it subscribed to: Codat's WebhookConsumer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_consumers")
    url = models.CharField(max_length=2048)
    event_types = models.JSONField(default=list)
    company_tags = models.JSONField(null=True, blank=True, help_text="tagKey:tagValue; none means every company.")
    disabled = models.BooleanField(default=False)
    disabled_reason = models.TextField(blank=True, help_text="Why it was disabled, when not by the partner.")
    # Encrypted at rest like Xero's tokens: it signs every delivery, so it cannot be hashed.
    secret = EncryptedTextField(editable=False)
    previous_secret = EncryptedTextField(blank=True, default="", editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set at the first failed attempt after a success; five days of it disable the consumer.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]
        verbose_name = "webhook consumer"

    def __str__(self):
        return f"{self.url} ({self.partner})"

    def wants(self, event: "Event") -> bool:
        """Subscribed to the event's type and, with company tags, sharing one with its
        company (Codat's filter: any of the consumer's tagKey:tagValue)."""
        if event.event_type not in self.event_types:
            return False
        return not self.company_tags or bool(set(self.company_tags) & set(event.company_tags))

    def signing_secrets(self) -> list[str]:
        """The secret, and for a day after a rotation the previous one too."""
        keep = self.previous_secret and self.secret_rotated_at and \
            timezone.now() - self.secret_rotated_at < PREVIOUS_SECRET_GRACE
        return [self.secret, self.previous_secret] if keep else [self.secret]

    def rotate_secret(self) -> str:
        """A new signing secret, returned this once; the old one signs alongside it for a day."""
        self.previous_secret, self.secret = self.secret, new_secret()
        self.secret_rotated_at = timezone.now()
        self.save(update_fields=["secret", "previous_secret", "secret_rotated_at"])
        return self.secret


class Event(models.Model):
    """The outbox: one row per event, written in the transaction of the change it reports.
    `body` is the envelope exactly as sent and signed; the relay fans it out to consumers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_events")
    # Not a foreign key: company.deleted outlives its company.
    company_id = models.UUIDField(null=True, blank=True, db_index=True)
    event_type = models.CharField(max_length=64)
    generated = models.DateTimeField(default=timezone.now, db_index=True)
    body = models.TextField()
    # The company's tags as tagKey:tagValue when it happened, for consumers' companyTags.
    company_tags = models.JSONField(default=list, blank=True)
    fanned_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["-generated"]
        indexes = [models.Index(fields=["generated"], condition=Q(fanned_out=False), name="webhook_event_unsent")]

    def __str__(self):
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(models.Model):
    """One event to one consumer: attempted until it is answered 2xx or the schedule ends."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    consumer = models.ForeignKey(WebhookConsumer, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "consumer"], name="one_delivery_per_consumer")]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                                name="webhook_delivery_due")]

    def __str__(self):
        return f"{self.event} → {self.consumer.url} ({self.status})"


class Attempt(models.Model):
    """One POST of a delivery and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
