from apps.core.retention import RetentionCommand
from apps.webhooks.retention import MIN_RETENTION, prune_history


class Command(RetentionCommand):
    help = ("Delete webhook events older than WEBHOOK_HISTORY_RETENTION_DAYS with their deliveries and attempts, "
            "unless a delivery of theirs is still pending. Safe to run at any time, e.g. daily.")
    setting = "WEBHOOK_HISTORY_RETENTION_DAYS"
    minimum = MIN_RETENTION
    too_short = ("A retention of {days} days is below {minimum}: deliveries are retried for over a day and staff "
                 "replay recent ones from admin.")
    done = "Deleted {deleted} webhook events older than {days} days, with their deliveries and attempts."

    def prune(self, older_than):
        return prune_history(older_than=older_than)
