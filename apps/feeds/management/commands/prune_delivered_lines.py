from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.feeds.store import MIN_RETENTION, prune_delivered_lines


class Command(BaseCommand):
    help = ("Delete the stored transactions of delivered pushes older than DELIVERED_LINES_RETENTION_DAYS "
            "(Pending, TimedOut and Failed pushes keep theirs). Safe to run at any time, e.g. daily.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help=f"retention in days (default: the setting; at least {MIN_RETENTION.days})")

    def handle(self, *args, days, **options):
        days = settings.DELIVERED_LINES_RETENTION_DAYS if days is None else days
        if days < MIN_RETENTION.days:
            raise CommandError(f"A retention of {days} days is below {MIN_RETENTION.days}: a partner may still resend "
                               "those transactions within Xero's one-year window, and only their stored ids "
                               "recognise the resend.")
        deleted = prune_delivered_lines(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} stored transactions of delivered pushes older than {days} days.")
