"""Source accounts in the partner's app, their feed connections in Xero, and the bank
transactions pushed to them (each push is one PushOperation and one Xero statement)."""

import uuid

from django.db import models

from apps.xero_auth.models import XeroConnection

MONEY = {"max_digits": 19, "decimal_places": 4}


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
    balance = models.DecimalField(**MONEY, null=True, blank=True)
    status = models.CharField(max_length=16, choices=SourceAccountStatus.choices, default=SourceAccountStatus.PENDING)
    feed_start_date = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified_date = models.DateTimeField(auto_now=True)

    # What was last delivered to Xero: the next statement should start from here.
    last_end_balance = models.DecimalField(**MONEY, null=True, blank=True)
    last_end_date = models.DateField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "account_id"], name="unique_source_account_per_connection")
        ]

    def __str__(self):
        return f"{self.account_name or self.account_id} ({self.currency})"

    @property
    def is_credit_card(self):
        return self.account_type in ("creditCard", "Credit")

    @property
    def active_feed(self):
        """The feed connection currently carrying this account, if any."""
        return self.feeds.filter(status__in=[FeedStatus.CONNECTING, FeedStatus.CONNECTED]).first()


class FeedStatus(models.TextChoices):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    DISCONNECTED = "disconnected"


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
    changes = models.JSONField(default=list, blank=True)
    requested_on = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_on = models.DateTimeField(null=True, blank=True)
    timeout_in_minutes = models.PositiveIntegerField(null=True, blank=True)

    # The Xero statement this push became.
    xero_statement_id = models.UUIDField(null=True, blank=True)
    statement_start_date = models.DateField(null=True, blank=True)
    statement_end_date = models.DateField(null=True, blank=True)
    statement_start_balance = models.DecimalField(**MONEY, null=True, blank=True)
    statement_end_balance = models.DecimalField(**MONEY, null=True, blank=True)
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
    amount = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY)
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
