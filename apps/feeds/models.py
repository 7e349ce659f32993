"""Source accounts in the partner's app, their feed connections in Xero, and the bank
transactions pushed to them (each push is one PushOperation and one Xero statement).

Statuses change only through the models' own methods, each saying why it exists; those
that a partner hears about send a domain signal (feeds/signals.py)."""

import uuid

from django.db import connections, models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import rows
from apps.core.money import MONEY_FIELD
from apps.xero_auth.models import XeroConnection

from . import signals


class SourceAccountStatus(models.TextChoices):
    PENDING = "pending"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"


class DisconnectReason(models.TextChoices):
    """Why a source account is disconnected, for the portal and admin to say."""

    STOPPED = "stopped", "The feed was stopped (by the partner, the company or staff)"
    FEED_REFUSED = "feed_refused", "Xero no longer accepts the feed (removed in Xero)"
    CONNECTION_LOST = "connection_lost", "The Xero connection was unlinked or deauthorised"


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
    # Why and when it was last disconnected (kept until it is connected again).
    disconnect_reason = models.CharField(max_length=16, choices=DisconnectReason.choices, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

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
        self.save(update_fields=["status", "feed_start_date", "modified_date", "disconnect_reason",
                                 "disconnected_at"])

    def mark_connecting(self, *, feed_start_date) -> None:
        """Xero accepted a feed connection for the account but has not confirmed it yet;
        transactions from `feed_start_date` on will go to it."""
        self.feed_start_date = feed_start_date
        self._set_status(SourceAccountStatus.CONNECTING)

    @transaction.atomic
    def mark_connected(self) -> None:
        """Xero confirmed the feed: the partner may push to this account from now on."""
        self.disconnect_reason, self.disconnected_at = "", None
        self._set_status(SourceAccountStatus.CONNECTED)
        signals.source_account_connected.send(sender=SourceAccount, source_account=self)

    def mark_pending(self) -> None:
        """Xero rejected the feed it had accepted: the account waits to be mapped again."""
        self._set_status(SourceAccountStatus.PENDING)

    @transaction.atomic
    def mark_disconnected(self, reason: str = DisconnectReason.STOPPED) -> None:
        """The account's feed stopped (`reason`: by the partner, the SMB or staff; Xero
        refusing it; the connection losing access): nothing more is sent to Xero for it,
        and it can be mapped again."""
        was = self.status
        self.disconnect_reason, self.disconnected_at = reason, timezone.now()
        self._set_status(SourceAccountStatus.DISCONNECTED)
        if was != SourceAccountStatus.DISCONNECTED:
            signals.source_account_disconnected.send(sender=SourceAccount, source_account=self)


class FeedStatus(models.TextChoices):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    REFUSED = "refused"
    DISCONNECTED = "disconnected"


ACTIVE_FEED_STATUSES = (FeedStatus.CONNECTING, FeedStatus.CONNECTED)


class FeedConnectionQuerySet(models.QuerySet):
    def disconnect(self, **why) -> int:
        """The feeds were stopped at Xero (or can no longer be reached): they are history now.
        `why` may say what happened (error, left_at_xero)."""
        return self.filter(status__in=ACTIVE_FEED_STATUSES).update(status=FeedStatus.DISCONNECTED,
                                                                    disconnected_at=timezone.now(), **why)


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
    # Disconnected here while Xero could not be told (the connection had lost access): Xero
    # may still hold it, so it is deleted there before the account is mapped again.
    left_at_xero = models.BooleanField(default=False)

    objects = FeedConnectionQuerySet.as_manager()

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
    # Both indexed by the composite indexes below (newest first), not on their own.
    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="push_operations",
                                db_index=False)
    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="push_operations")
    source_account = models.ForeignKey(SourceAccount, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="push_operations", db_index=False)
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
    # When Xero was last asked about it while Pending (settling asks at most this often).
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_on"]
        indexes = [
            # A company's list of pushes, newest first, and an account's last push: read
            # from the top of an index however long the history is.
            models.Index(fields=["company", "-requested_on"], name="push_company_recent_idx"),
            models.Index(fields=["source_account", "-requested_on"], name="push_account_recent_idx"),
            # The Pending ones of an account (what a push settles first) and the sweep's:
            # a few rows at any time, however many pushes the account has had.
            models.Index(fields=["connection", "account_id", "requested_on"], condition=Q(status="Pending"),
                         name="push_pending_idx"),
        ]

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

    # What a status change writes; _change writes them only if the status is still the one
    # the change starts from.
    _CHANGED = ("status", "status_code", "error_message", "validation", "completed_on", "xero_statement_id",
                "delivered", "maybe_delivered", "checked_at")

    def _change(self, *, from_status: str, settled: bool) -> bool:
        """Write the operation's new state if it is still `from_status` in the database, and
        tell the partner (push_settled) when it `settled`. A read, a list, the next push and
        the relay's sweep may settle one operation at once: the one that finds it Pending
        writes it and sends the event, the others read back what it wrote. False then."""
        with transaction.atomic():
            won = PushOperation.objects.filter(pk=self.pk, status=from_status).update(
                **{name: getattr(self, name) for name in self._CHANGED})
            if won and settled:
                signals.push_settled.send(sender=PushOperation, operation=self)
        if not won:
            self.refresh_from_db(fields=self._CHANGED)
        return bool(won)

    def mark_failed(self, *, status_code: int, message: str, errors: list[dict]) -> bool:
        """The push ended without Xero taking its statement (refused by Xero, throttled, or
        Xero did not answer): the partner may send the batch again."""
        self.status = PushStatus.FAILED
        self.status_code = status_code
        self.error_message = message
        self.validation = {**self.validation, "errors": errors}
        self.completed_on = timezone.now()
        return self._change(from_status=PushStatus.PENDING, settled=True)

    def mark_timed_out(self, *, message: str) -> bool:
        """The partner's timeoutInMinutes passed without a final answer from Xero. What Xero
        took stays delivered (a resend of it is recognised); a statement it may have taken
        unseen counts as maybe delivered, so Xero calling a resend duplicate means delivered."""
        self.status = PushStatus.TIMED_OUT
        self.status_code = 504
        self.error_message = message
        self.completed_on = timezone.now()
        self.maybe_delivered = self.maybe_delivered or not self.delivered
        return self._change(from_status=PushStatus.PENDING, settled=True)

    def mark_resent(self) -> bool:
        """Staff send a failed push's statement again: it is in flight once more."""
        self.status = PushStatus.PENDING
        self.status_code = 202
        self.error_message = None
        self.completed_on = None
        self.validation = {**self.validation, "errors": []}
        return self._change(from_status=PushStatus.FAILED, settled=False)

    def mark_checked(self) -> None:
        """Xero was asked about the Pending statement just now (and had no final answer)."""
        self.checked_at = timezone.now()
        PushOperation.objects.filter(pk=self.pk).update(checked_at=self.checked_at)

    def mark_taken(self, *, statement_id, delivered: bool) -> bool:
        """Xero has taken the statement: its transactions are delivered (a resend of them is
        recognised) and the account's last balance is the statement's end balance. Success
        once Xero says it is in the bank account, Pending until then."""
        self.status = PushStatus.SUCCESS if delivered else PushStatus.PENDING
        self.status_code = 200 if delivered else 202
        self.completed_on = timezone.now() if delivered else None
        self.xero_statement_id = statement_id or self.xero_statement_id
        self.delivered = True
        if delivered:
            with transaction.atomic():  # the listeners of push_settled write in the same transaction
                won = self._write_taken()
                if won:
                    signals.push_settled.send(sender=PushOperation, operation=self)
        else:
            won = self._write_taken()  # one statement, atomic by itself
        if not won:
            self.refresh_from_db(fields=self._CHANGED)
        return won

    # The operation, if it is still Pending, and its account in one round trip (each push
    # pays for it; the ORM's guarded UPDATE, the account's UPDATE and a transaction were four
    # round trips). A retried push taken late must not move the account back behind later
    # ones. The answer says whether the operation was still Pending.
    _TAKEN_SQL = (
        "WITH operation AS (UPDATE feeds_pushoperation SET status = %s, status_code = %s, error_message = %s, "
        "validation = %s, completed_on = %s, xero_statement_id = %s, delivered = %s, maybe_delivered = %s, "
        "checked_at = %s WHERE push_operation_key = %s AND status = %s RETURNING 1), "
        "account AS (UPDATE feeds_sourceaccount SET balance = %s, last_end_balance = %s, last_end_date = %s, "
        "last_pushed_at = %s WHERE id = %s AND (last_end_date IS NULL OR last_end_date <= %s) "
        "AND EXISTS (SELECT 1 FROM operation)) "
        "SELECT count(*) FROM operation{no_disk_wait}")

    # Alone in its transaction (a statement Xero has pending: no webhook event is written
    # with it), the answer is committed without waiting for the disk, in the same round
    # trip. The operation and its lines were made durable while Xero read the statement
    # (store.store_batch); an answer lost in a database crash leaves an orphan, whose
    # statement is posted again under its Idempotency-Key (push.py), as after a worker that
    # died: Xero answers as it did. Waiting for the disk here cost every push, after Xero's
    # answer, whatever the flush took: 0.1 ms on an idle disk, a few ms on a busy one.
    # (set_config, not SET LOCAL: one statement, so that it can be prepared, rows.cursor.)
    _NO_DISK_WAIT = ", (SELECT set_config('synchronous_commit', 'off', true)) no_disk_wait"

    def _write_taken(self) -> bool:
        db = connections[PushOperation.objects.db]
        now = timezone.now()
        if db.vendor != "postgresql":
            with transaction.atomic(using=db.alias):
                won = PushOperation.objects.filter(pk=self.pk, status=PushStatus.PENDING).update(
                    **{name: getattr(self, name) for name in self._CHANGED})
                if won:
                    SourceAccount.objects.filter(
                        Q(last_end_date__isnull=True) | Q(last_end_date__lte=self.statement_end_date),
                        pk=self.source_account_id,
                    ).update(balance=self.statement_end_balance, last_end_balance=self.statement_end_balance,
                             last_end_date=self.statement_end_date, last_pushed_at=now)
            return bool(won)
        own, account = PushOperation._meta, SourceAccount._meta

        def prep(meta, name, value):
            return meta.get_field(name).get_db_prep_save(value, db)

        params = [prep(own, name, getattr(self, name)) for name in self._CHANGED]
        params += [prep(own, "push_operation_key", self.pk), PushStatus.PENDING.value]
        end_balance = prep(account, "balance", self.statement_end_balance)
        end_date = prep(account, "last_end_date", self.statement_end_date)
        params += [end_balance, end_balance, end_date, prep(account, "last_pushed_at", now),
                   self.source_account_id, end_date]
        # Outside a transaction it is one of its own; inside one, committed with the rest.
        no_disk_wait = self._NO_DISK_WAIT if rows.no_transaction_open(db) else ""
        with rows.cursor(db.alias) as cursor:
            cursor.execute(self._TAKEN_SQL.format(no_disk_wait=no_disk_wait), params)
            return bool(cursor.fetchone()[0])

    def mark_delivered(self) -> bool:
        """Xero now says the statement it took is in the bank account: Success."""
        self.status = PushStatus.SUCCESS
        self.status_code = 200
        self.completed_on = timezone.now()
        return self._change(from_status=PushStatus.PENDING, settled=True)

    @classmethod
    def _record_settled(cls, **fields):
        with transaction.atomic():
            operation = cls.objects.create(**fields, completed_on=timezone.now())
            signals.push_settled.send(sender=cls, operation=operation)
        return operation

    @classmethod
    def record_refused(cls, *, errors: list[dict], warnings: list[dict], message: str | None = None, **fields):
        """A push refused before anything reached Xero: only this record of it is kept."""
        return cls._record_settled(**fields, status=PushStatus.FAILED, status_code=400,
                                   error_message=message or errors[0]["message"],
                                   validation={"errors": list(errors), "warnings": list(warnings)})

    @classmethod
    def record_nothing_to_send(cls, *, warnings: list[dict], **fields):
        """A push with nothing for Xero (every transaction already there, or none on or after
        the feed start date): Success without a new statement; `warnings` say why."""
        return cls._record_settled(**fields, status=PushStatus.SUCCESS, status_code=200,
                                   validation={"errors": [], "warnings": list(warnings)})

    @transaction.atomic
    def mark_rejected_after_taken(self, *, message: str, errors: list[dict]) -> bool:
        """Xero did not keep a statement it had taken: its transactions may be sent again,
        and the account goes back to where the statement started (unless a later one moved
        it)."""
        self.delivered = False
        if not self.mark_failed(status_code=400, message=message, errors=errors):
            return False
        SourceAccount.objects.filter(
            pk=self.source_account_id, last_end_balance=self.statement_end_balance,
            last_end_date=self.statement_end_date,
        ).update(balance=self.statement_start_balance, last_end_balance=self.statement_start_balance)
        return True


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
