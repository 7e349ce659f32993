"""State of the embedded Xero sandbox: apps, organisations, grants and tokens, bank
accounts, feed connections, statements, faults and idempotent replays.

Everything lives in the project's database so that every thread or process serving the
sandbox sees the same Xero, and tests can inspect or age rows directly (for example set
``RefreshToken.first_used_at`` back 31 minutes to test the rotation grace)."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone

ACCESS_TOKEN_LIFETIME = timedelta(minutes=30)
CODE_LIFETIME = timedelta(minutes=5)
REFRESH_GRACE = timedelta(minutes=30)
REFRESH_IDLE_LIFETIME = timedelta(days=60)

# Scopes any registered app may ask for; `bankfeeds` is added per app because Xero only
# grants it to approved financial-services partners.
STANDARD_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.contacts",
        "accounting.contacts.read",
    }
)


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random string for codes, tokens and generated secrets."""
    return secrets.token_urlsafe(nbytes)


class SandboxApp(models.Model):
    """An OAuth2 app registered with the sandbox, like an app on developer.xero.com."""

    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=100, unique=True)
    # Plain text: the sandbox holds throw-away credentials only.
    client_secret = models.CharField(max_length=200)
    redirect_uris = models.JSONField(default=list)
    bankfeeds = models.BooleanField(default=True, help_text="Granted the bankfeeds scope")
    refresh_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    def allowed_scopes(self) -> frozenset:
        """The scopes this app may request."""
        return STANDARD_SCOPES | ({"bankfeeds"} if self.bankfeeds else set())

    def check_secret(self, secret: str) -> bool:
        """Constant-time comparison of a presented client secret."""
        return secrets.compare_digest(self.client_secret.encode(), (secret or "").encode())


class Organisation(models.Model):
    """A Xero organisation (a tenant)."""

    tenant_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    base_currency = models.CharField(max_length=3, default="GBP")
    is_multi_currency = models.BooleanField(default=False)
    country = models.CharField(max_length=2, default="GB")
    short_code = models.CharField(max_length=20, blank=True)
    bank_feeds_enabled = models.BooleanField(
        default=True, help_text="Off: feed connections are rejected with invalid-organisation-bank-feeds"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def currencies(self) -> list[str]:
        """Base currency first, then the currencies its accounts use (multi-currency only)."""
        codes = [self.base_currency]
        if self.is_multi_currency:
            for code in self.bank_accounts.order_by("currency").values_list("currency", flat=True):
                if code not in codes:
                    codes.append(code)
        return codes


class BankAccount(models.Model):
    """An Accounting bank account (Type BANK) in an organisation."""

    BANK = "BANK"
    CREDITCARD = "CREDITCARD"
    TYPES = [(BANK, "Bank"), (CREDITCARD, "Credit card")]

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="bank_accounts")
    account_id = models.UUIDField(default=uuid.uuid4, unique=True)
    code = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=150)
    account_number = models.CharField(max_length=40, blank=True)
    bank_account_type = models.CharField(max_length=10, choices=TYPES, default=BANK)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, default="ACTIVE")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation", "name"]

    def __str__(self):
        return f"{self.name} ({self.currency})"


class Grant(models.Model):
    """One consent: an app authorised by a (sandbox) user for some organisations.

    Each consent counts as a distinct Xero user, so two consents never see each
    other's connections. Codes, access and refresh tokens all hang off the grant."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="grants")
    auth_event_id = models.UUIDField(default=uuid.uuid4, unique=True)
    scopes = models.CharField(max_length=1000)
    refresh_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.app.name} / {self.auth_event_id}"

    def scope_set(self) -> set[str]:
        """The granted scopes as a set."""
        return set(self.scopes.split())


class Connection(models.Model):
    """A tenant connected to a grant (one row of GET /connections)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="connections")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="connections")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grant", "organisation"], name="xsbx_conn_unique")]

    def __str__(self):
        return f"{self.organisation_id} via {self.grant_id}"


class AuthorizationCode(models.Model):
    """A single-use authorisation code, valid five minutes."""

    code = models.CharField(max_length=100, unique=True, default=new_secret)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="codes")
    redirect_uri = models.CharField(max_length=2000)
    code_challenge = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"code for grant {self.grant_id}"

    def is_expired(self, now=None) -> bool:
        """Codes live five minutes, as Xero's do."""
        return (now or timezone.now()) >= self.created_at + CODE_LIFETIME


class AccessToken(models.Model):
    """An opaque bearer token valid 30 minutes (real Xero issues JWTs)."""

    token = models.CharField(max_length=100, unique=True, default=new_secret)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="access_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"access token {self.token[:6]}…"

    def is_usable(self, now=None) -> bool:
        """Not revoked, not expired, and its grant still stands."""
        now = now or timezone.now()
        return self.revoked_at is None and self.grant.revoked_at is None and now < self.expires_at


class RefreshToken(models.Model):
    """A refresh token: rotates on use; the used one keeps working for 30 minutes."""

    token = models.CharField(max_length=100, unique=True, default=new_secret)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    first_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"refresh token {self.token[:6]}…"

    def is_usable(self, now=None) -> bool:
        """Unused: 60 days from issue. Used: 30 minutes from first use (Xero's grace)."""
        now = now or timezone.now()
        if self.revoked_at is not None or self.grant.revoked_at is not None:
            return False
        if self.first_used_at is None:
            return now < self.created_at + REFRESH_IDLE_LIFETIME
        return now < self.first_used_at + REFRESH_GRACE


class FeedConnection(models.Model):
    """A bank feed connecting an app's accountToken to an organisation's bank account."""

    PENDING = "PENDING"
    CONNECTED = "CONNECTED"
    DELETED = "DELETED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="feed_connections")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="feed_connections")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="feed_connections")
    account_token = models.CharField(max_length=50)
    account_number = models.CharField(max_length=40, blank=True)
    account_name = models.CharField(max_length=30, blank=True)
    account_type = models.CharField(max_length=10, default="BANK")
    currency = models.CharField(max_length=3)
    country = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=10, default=PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "account_token"],
                condition=models.Q(deleted_at__isnull=True),
                name="xsbx_feed_token_unique_live",
            )
        ]

    def __str__(self):
        return f"{self.account_token} → {self.bank_account}"


class Statement(models.Model):
    """A statement delivered (or rejected as a duplicate) on a feed connection."""

    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    feed_connection = models.ForeignKey(FeedConnection, on_delete=models.CASCADE, related_name="statements")
    status = models.CharField(max_length=10, default=DELIVERED)
    start_date = models.DateField()
    end_date = models.DateField()
    start_balance = models.DecimalField(max_digits=19, decimal_places=4)
    start_indicator = models.CharField(max_length=6)
    end_balance = models.DecimalField(max_digits=19, decimal_places=4)
    end_indicator = models.CharField(max_length=6)
    line_count = models.PositiveIntegerField(default=0)
    # sha256 of the canonical statement: how whole-statement duplicates are found.
    fingerprint = models.CharField(max_length=64, db_index=True)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.start_date}..{self.end_date} ({self.status})"


class StatementLine(models.Model):
    """One statement line; feed_connection is denormalised for transactionId lookups."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    feed_connection = models.ForeignKey(FeedConnection, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    posted_date = models.DateField()
    description = models.CharField(max_length=2000)
    amount = models.DecimalField(max_digits=19, decimal_places=4)
    credit_debit_indicator = models.CharField(max_length=6)
    transaction_id = models.CharField(max_length=255, null=True, blank=True)
    payee_name = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    cheque_number = models.CharField(max_length=20, blank=True)
    transaction_type = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["statement", "position"]
        indexes = [models.Index(fields=["feed_connection", "transaction_id"], name="xsbx_line_txn")]

    def __str__(self):
        return f"{self.posted_date} {self.amount} {self.credit_debit_indicator}"


class Fault(models.Model):
    """An injected failure for the next `remaining` calls matching operation and method."""

    STATUS = "status"
    HANG = "hang"
    DROP_AFTER_COMMIT = "drop_after_commit"
    INVALID_GRANT = "invalid_grant"
    MODES = [(m, m) for m in (STATUS, HANG, DROP_AFTER_COMMIT, INVALID_GRANT)]

    operation = models.CharField(max_length=200, help_text="Path prefix below /xero-sandbox/")
    method = models.CharField(max_length=10, blank=True, help_text="Empty: any method")
    mode = models.CharField(max_length=20, choices=MODES, default=STATUS)
    status = models.PositiveIntegerField(default=500)
    remaining = models.PositiveIntegerField(default=1)
    seconds = models.FloatField(default=0)
    retry_after = models.PositiveIntegerField(default=1)
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.mode} {self.method or '*'} {self.operation} x{self.remaining}"

    def as_dict(self) -> dict:
        """The JSON shape used by the _faults endpoint."""
        return {
            "id": self.pk,
            "operation": self.operation,
            "method": self.method or None,
            "mode": self.mode,
            "status": self.status,
            "count": self.remaining,
            "seconds": self.seconds,
            "retryAfter": self.retry_after,
            "hits": self.hits,
        }


class IdempotentResponse(models.Model):
    """A stored answer replayed for a repeated Idempotency-Key (per app and tenant)."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    body_sha256 = models.CharField(max_length=64)
    status = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "organisation", "key"], name="xsbx_idem_unique")]

    def __str__(self):
        return f"{self.key} ({self.status})"


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()
