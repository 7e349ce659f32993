"""A company's link to its Xero organisation: Codat's "connection"."""

import secrets
import uuid
from datetime import timedelta

from django.core import signing
from django.db import models, transaction
from django.utils import timezone

from apps.core.urls import page_url
from apps.tenants.models import Company

from . import signals
from .crypto import EncryptedTextField

# Codat's identifiers for the Xero integration, so partners see the values they know.
XERO_PLATFORM_KEY = "gbol"
XERO_PLATFORM_NAME = "Xero"
XERO_INTEGRATION_ID = uuid.UUID("b4a2a4e6-1b2d-4c1c-9f2c-1f5d8f6d6a01")
XERO_SOURCE_ID = uuid.UUID("8a156a5a-39cb-4f9d-856e-76ef9b9a9607")
# Inline refresh happens when the access token has less than this left.
ACCESS_TOKEN_MARGIN = timedelta(minutes=2)


class ConnectionStatus(models.TextChoices):
    PENDING_AUTH = "PendingAuth"
    LINKED = "Linked"
    UNLINKED = "Unlinked"
    DEAUTHORIZED = "Deauthorized"


class XeroConnection(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="connections")
    status = models.CharField(max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING_AUTH)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    linked_at = models.DateTimeField(null=True, blank=True)

    # The Xero organisation, once the SMB has consented.
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    tenant_name = models.CharField(max_length=255, blank=True)
    xero_connection_id = models.UUIDField(null=True, blank=True, help_text="Xero's id for the app↔org link.")

    # Tokens: encrypted at rest, never serialised, never shown in admin.
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_issued_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True)

    data_connection_errors = models.JSONField(default=list, blank=True)
    # When Xero last listed the organisation among the app's connections (the relay asks daily).
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The current single-use portal link: its nonce and when it was issued.
    link_nonce = models.CharField(max_length=32, blank=True, editable=False)
    link_issued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created"]
        indexes = [
            # The token upkeep's selection: Linked connections by refresh token age.
            models.Index(fields=["refresh_token_issued_at"], name="xero_conn_upkeep_idx",
                         condition=models.Q(status="Linked")),
        ]

    def __str__(self):
        return f"{self.company} → {self.tenant_name or 'Xero'} ({self.status})"

    @property
    def is_linked(self):
        return self.status == ConnectionStatus.LINKED

    def access_token_expiring(self, margin=ACCESS_TOKEN_MARGIN) -> bool:
        return self.access_token_expires_at is None or self.access_token_expires_at - timezone.now() < margin

    def store_tokens(self, tokens) -> None:
        """Keep what Xero's token endpoint answered (a client.Tokens); the caller saves.
        Xero may not rotate the refresh token on every answer: the old one then stays."""
        now = timezone.now()
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token or self.refresh_token
        self.access_token_expires_at = now + timedelta(seconds=tokens.expires_in)
        self.refresh_token_issued_at = now
        self.scopes = tokens.scope

    def forget_tokens(self) -> None:
        """Drop the tokens (revoked or refused): nothing can reach Xero for this connection."""
        self.access_token = ""
        self.refresh_token = ""
        self.access_token_expires_at = None

    @transaction.atomic
    def mark_linked(self, *, tenant_id, tenant_name: str, xero_connection_id) -> None:
        """The SMB consented and picked this organisation: from now on the partner's pushes
        reach it. Earlier connection errors are resolved, as Codat shows them."""
        previous_status = self.status
        relinked = self.linked_at is not None
        self.tenant_id = tenant_id
        self.tenant_name = tenant_name or ""
        self.xero_connection_id = xero_connection_id or None
        self.status = ConnectionStatus.LINKED
        self.linked_at = timezone.now()
        self.checked_at = self.linked_at
        self.data_connection_errors = _resolved(self.data_connection_errors)
        self.save()
        signals.connection_linked.send(sender=XeroConnection, connection=self, relinked=relinked,
                                       previous_status=previous_status)

    @transaction.atomic
    def mark_deauthorized(self, *, status_code: int, reason: str) -> None:
        """Xero no longer accepts this connection's authorisation (the user revoked it, or the
        refresh token lapsed): the tokens go and the company must connect again."""
        self.status = ConnectionStatus.DEAUTHORIZED
        self.forget_tokens()
        self.data_connection_errors = [
            *_resolved(self.data_connection_errors),
            {
                "statusCode": str(status_code),
                "statusText": reason,
                "errorMessage": "Xero no longer accepts this connection's authorisation; the company must reconnect.",
                "erroredOnUtc": timezone.now().isoformat(),
                "status": "Active",
                "resolvedOnUtc": None,
            },
        ]
        self.save()
        signals.connection_lost.send(sender=XeroConnection, connection=self)

    @transaction.atomic
    def mark_unlinked(self) -> None:
        """Access was revoked at our side (partner or staff): the connection and its feeds
        stay, so the company can link again later."""
        self.status = ConnectionStatus.UNLINKED
        self.forget_tokens()
        self.save()
        signals.connection_lost.send(sender=XeroConnection, connection=self)

    def mark_checked(self) -> None:
        """Xero still lists the organisation among the app's connections."""
        self.checked_at = timezone.now()
        XeroConnection.objects.filter(pk=self.pk).update(checked_at=self.checked_at)

    def link_url(self) -> str:
        """Codat's linkUrl: a signed portal link for this connection, the same on every
        read until it is used (single-use) or 24 hours old; then a new one is issued."""
        if not self.link_nonce or timezone.now() - self.link_issued_at >= LINK_LIFETIME:
            self.rotate_link()
        token = signing.dumps({"c": str(self.id), "n": self.link_nonce}, salt=LINK_SALT)
        return page_url("link", token)

    def rotate_link(self):
        """Invalidate the current link (used, or expired) and issue the next one."""
        self.link_nonce = secrets.token_urlsafe(16)
        self.link_issued_at = timezone.now()
        if self.pk and not self._state.adding:
            XeroConnection.objects.filter(pk=self.pk).update(
                link_nonce=self.link_nonce, link_issued_at=self.link_issued_at
            )


LINK_SALT = "portal-link"
LINK_LIFETIME = timedelta(hours=24)


def _resolved(errors):
    now = timezone.now().isoformat()
    return [{**e, "status": "Resolved", "resolvedOnUtc": e.get("resolvedOnUtc") or now} for e in errors or []]
