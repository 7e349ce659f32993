"""Source accounts in the partner's app, their feed connections in Xero, and the bank
transactions pushed to them (each push is one PushOperation and one Xero statement).

Statuses change only through the models' own methods, each saying why it exists; those
that a partner hears about send a domain signal (feeds/signals.py)."""

import uuid

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.money import MONEY_FIELD
from apps.xero_auth.models import XeroConnection

from . import signals


class SourceAccountStatus(models.TextChoices):
    PENDING = "pending"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"


class SourceAccount(models.Model):
    """A bank account in the partner's app (Codat's source account, v1 or v2 shape)."""

    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="source_accounts")
    account_id = models.CharField(max_length=255, help_text="The partner's id for the account (Codat's `id`).")
    api_version = models.CharField(max_length=2, choices=[("v1", "v1"), ("v2", "v2")], default="v2")
    account_name = models.CharField(max_length=255, blank=True, null=True)
    account_type = models.CharField(max_length=32, blank=True, null=True)
    account_number = models.CharField(max_length=64, blank=True, null=True)
    sort_code = models.CharField(max_length=32, blank=True, null=True)
    routing_info = models.JSONField(null=True, blank=True)
    account_info = models.JSONField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    status = models.CharField(max_length=16, choices=SourceAccountStatus.choices, default=SourceAccountStatus.PENDING)
    feed_start_date = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified_date = models.DateTimeField(auto_now=True)

    # What was last delivered to Xero: the next statement should start from here.
    last_end_balance = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    last_end_date = models.DateField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "account_id"], name="unique_source_account_per_connection")
        ]

    def __str__(self):
        return f"{self.account_name or self.account_id} ({self.currency})"

    def _set_status(self, status):
        self.status = status
        self.save(update_fields=["status", "feed_start_date", "modified_date"])

    def mark_connecting(self, *, feed_start_date) -> None:
        """Xero accepted a feed connection for the account but has not confirmed it yet;
        transactions from `feed_start_date` on will go to it."""
        self.feed_start_date = feed_start_date
        self._set_status(SourceAccountStatus.CONNECTING)

    def mark_connected(self) -> None:
        """Xero confirmed the feed: the partner may push to this account from now on."""
        self._set_status(SourceAccountStatus.CONNECTED)
        signals.source_account_connected.send(sender=SourceAccount, source_account=self)

    def mark_pending(self) -> None:
        """Xero rejected the feed it had accepted: the account waits to be mapped again."""
        self._set_status(SourceAccountStatus.PENDING)

    def mark_disconnected(self) -> None:
        """The account's feed was stopped (by the partner, the SMB or staff): nothing more
        is sent to Xero for it, and it can be mapped again."""
        self._set_status(SourceAccountStatus.DISCONNECTED)
        signals.source_account_disconnected.send(sender=SourceAccount, source_account=self)


class FeedStatus(models.TextChoices):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    REFUSED = "refused"
    DISCONNECTED = "disconnected"


ACTIVE_FEED_STATUSES = (FeedStatus.CONNECTING, FeedStatus.CONNECTED)


class FeedConnection(models.Model):
    """One Xero feed connection for a source account. A source account that is
    disconnected and mapped again gets a new one; the old rows are its history."""

    source_account = models.ForeignKey(SourceAccount, on_delete=models.CASCADE, related_name="feeds")
    xero_feed_connection_id = models.UUIDField(null=True, blank=True, db_index=True)
    # Our id for the account at Xero, unique per organisation.
    account_token = models.CharField(max_length=50)
    target_account_id = models.UUIDField(null=True, blank=True, help_text="The Xero bank account.")
    target_account_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=FeedStatus.choices, default=FeedStatus.CONNECTING)
    error = models.TextField(blank=True)
    feed_start_date = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.source_account} → {self.target_account_name or 'new Xero account'} ({self.status})"

    def mark_connected(self, *, target_account_id, target_account_name: str) -> None:
        """Xero reads the feed back as connected, to this bank account."""
        self.status = FeedStatus.CONNECTED
        self.connected_at = timezone.now()
        self.target_account_id = target_account_id
        self.target_account_name = target_account_name
        self.save(update_fields=["status", "connected_at", "target_account_id", "target_account_name"])

    def mark_refused(self, error: str) -> None:
        """Xero refused the feed after accepting it; `error` is its reason."""
        self.status, self.error = FeedStatus.REFUSED, error
        self.save(update_fields=["status", "error"])


class PushStatus(models.TextChoices):
    PENDING = "Pending"
    FAILED = "Failed"
    SUCCESS = "Success"
    TIMED_OUT = "TimedOut"


class PushOperation(models.Model):
    """One partner push of bank transactions: Codat's push operation, one Xero statement."""

    push_operation_key = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="push_operations")
    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="push_operations")
    source_account = models.ForeignKey(SourceAccount, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="push_operations")
    account_id = models.CharField(max_length=255, help_text="The account id the partner pushed to.")
    data_type = models.CharField(max_length=32, default="bankTransactions")
    status = models.CharField(max_length=16, choices=PushStatus.choices, default=PushStatus.PENDING, db_index=True)
    status_code = models.PositiveSmallIntegerField(default=202)
    error_message = models.TextField(null=True, blank=True)
    validation = models.JSONField(default=dict, blank=True)
    requested_on = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_on = models.DateTimeField(null=True, blank=True)
    timeout_in_minutes = models.PositiveIntegerField(null=True, blank=True)

    # The Xero statement this push became.
    xero_statement_id = models.UUIDField(null=True, blank=True)
    statement_start_date = models.DateField(null=True, blank=True)
    statement_end_date = models.DateField(null=True, blank=True)
    statement_start_balance = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    statement_end_balance = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    transaction_count = models.PositiveIntegerField(default=0)
    # Same batch, same key: what we send Xero as Idempotency-Key, and how a resend is recognised.
    statement_key = models.CharField(max_length=64, blank=True, db_index=True)
    # Xero may have the statement although we never saw its answer (timeout, lost response).
    maybe_delivered = models.BooleanField(default=False)
    # Xero took the statement (202, or a duplicate of one it took): its transactions count as
    # delivered, so a resend of them is recognised. Kept here, not on each transaction, so
    # recording Xero's answer writes one row whatever the size of the batch.
    delivered = models.BooleanField(default=False)

    class Meta:
        ordering = ["-requested_on"]

    def __str__(self):
        return f"{self.push_operation_key} ({self.status})"

    @property
    def errors(self) -> list[dict]:
        return self.validation.get("errors", [])

    @property
    def warnings(self) -> list[dict]:
        return self.validation.get("warnings", [])

    @property
    def reached_xero(self) -> bool:
        """A statement was built for Xero (a push refused by our rules has none)."""
        return bool(self.statement_key)

    def mark_failed(self, *, status_code: int, message: str, errors: list[dict]) -> None:
        """The push ended without Xero taking its statement (refused by Xero, throttled, or
        Xero did not answer): the partner may send the batch again."""
        self.status = PushStatus.FAILED
        self.status_code = status_code
        self.error_message = message
        self.validation = {**self.validation, "errors": errors}
        self.completed_on = timezone.now()
        self.save()
        signals.push_settled.send(sender=PushOperation, operation=self)

    def mark_resent(self) -> None:
        """Staff send a failed push's statement again: it is in flight once more."""
        self.status = PushStatus.PENDING
        self.status_code = 202
        self.error_message = None
        self.completed_on = None
        self.validation = {**self.validation, "errors": []}
        self.save()

    @transaction.atomic
    def mark_taken(self, *, statement_id, delivered: bool) -> None:
        """Xero has taken the statement: its transactions are delivered (a resend of them is
        recognised) and the account's last balance is the statement's end balance. Success
        once Xero says it is in the bank account, Pending until then."""
        status = PushStatus.SUCCESS if delivered else PushStatus.PENDING
        self.status = status
        self.status_code = 200 if delivered else 202
        self.completed_on = timezone.now() if delivered else None
        self.xero_statement_id = statement_id or self.xero_statement_id
        self.delivered = True
        self.save(update_fields=["status", "status_code", "completed_on", "xero_statement_id", "validation",
                                 "delivered"])
        # A retried push taken late must not move the account back behind later ones.
        SourceAccount.objects.filter(
            Q(last_end_date__isnull=True) | Q(last_end_date__lte=self.statement_end_date),
            pk=self.source_account_id,
        ).update(
            balance=self.statement_end_balance, last_end_balance=self.statement_end_balance,
            last_end_date=self.statement_end_date, last_pushed_at=timezone.now())
        if delivered:
            signals.push_settled.send(sender=PushOperation, operation=self)

    def mark_delivered(self) -> None:
        """Xero now says the statement it took is in the bank account: Success."""
        self.status = PushStatus.SUCCESS
        self.status_code = 200
        self.completed_on = timezone.now()
        self.save(update_fields=["status", "status_code", "completed_on"])
        signals.push_settled.send(sender=PushOperation, operation=self)

    @classmethod
    def record_refused(cls, *, errors: list[dict], warnings: list[dict], message: str | None = None, **fields):
        """A push refused before anything reached Xero: only this record of it is kept."""
        operation = cls.objects.create(
            **fields, status=PushStatus.FAILED, status_code=400, error_message=message or errors[0]["message"],
            validation={"errors": list(errors), "warnings": list(warnings)}, completed_on=timezone.now())
        signals.push_settled.send(sender=cls, operation=operation)
        return operation

    @transaction.atomic
    def mark_rejected_after_taken(self, *, message: str, errors: list[dict]) -> None:
        """Xero did not keep a statement it had taken: its transactions may be sent again,
        and the account goes back to where the statement started (unless a later one moved
        it)."""
        self.delivered = False
        self.mark_failed(status_code=400, message=message, errors=errors)
        SourceAccount.objects.filter(
            pk=self.source_account_id, last_end_balance=self.statement_end_balance,
            last_end_date=self.statement_end_date,
        ).update(balance=self.statement_start_balance, last_end_balance=self.statement_start_balance)


class BankTransaction(models.Model):
    """A transaction as the partner pushed it, kept with the push that carried it."""

    # No database constraints on these two keys: rows are only written by the push, with
    # the ids of the operation it creates in the same transaction and of the account it
    # holds locked, and deletes cascade through the ORM. Checked by the database, every
    # row of a batch would lock and look up the same two parent rows again at commit,
    # which cost more than storing the batch.
    push_operation = models.ForeignKey(PushOperation, on_delete=models.CASCADE, related_name="transactions",
                                       db_constraint=False)
    # Indexed by the (source_account, transaction_id) index below; a second one would only
    # slow down storing every batch.
    source_account = models.ForeignKey(SourceAccount, on_delete=models.CASCADE, related_name="transactions",
                                       db_index=False, db_constraint=False)
    transaction_id = models.CharField(max_length=255, help_text="The partner's id (Codat's `id`).")
    date = models.DateTimeField(help_text="Local date-time as pushed; any offset is ignored.")
    description = models.TextField(null=True, blank=True)
    counterparty = models.CharField(max_length=255, null=True, blank=True)
    reference = models.CharField(max_length=255, null=True, blank=True)
    reconciled = models.BooleanField(null=True)
    amount = models.DecimalField(**MONEY_FIELD)
    balance = models.DecimalField(**MONEY_FIELD)
    transaction_type = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["source_account", "transaction_id"])]

    def __str__(self):
        return f"{self.transaction_id} {self.amount}"

    @property
    def delivered(self) -> bool:
        """Xero has taken the statement carrying it."""
        return self.push_operation.delivered
