"""Re-encrypt every stored Xero token with the first key of TOKEN_ENCRYPTION_KEY.

Rotation: put the new key first (old ones after it), deploy, run this command, then drop
the old keys. Each row is rewritten under its row lock so a concurrent token refresh
cannot be overwritten with the tokens read before it."""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.xero_auth.models import XeroConnection


class Command(BaseCommand):
    help = "Re-encrypt every Xero token with the first key in TOKEN_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        count = 0
        for pk in XeroConnection.objects.values_list("pk", flat=True):
            with transaction.atomic():
                connection = XeroConnection.objects.select_for_update().filter(pk=pk).first()
                if connection is None:
                    continue  # deleted since the list was read
                # Saving encrypts with the first key (MultiFernet); reading decrypted with any.
                connection.save(update_fields=["access_token", "refresh_token"])
                count += 1
        self.stdout.write(f"Re-encrypted the tokens of {count} connection(s).")
