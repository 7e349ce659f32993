"""The kit's one table: answers kept for Idempotency-Key."""

from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a caller's POST/PATCH carrying an Idempotency-Key, replayed
    for retries of the same request. `caller` is the authenticated caller's id as text, so
    the kit needs no foreign key into the apps above it."""

    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="unique_idempotency_key_per_caller")]

    def __str__(self):
        return self.key
