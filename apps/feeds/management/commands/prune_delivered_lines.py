from apps.core.retention import RetentionCommand
from apps.feeds.store import MIN_RETENTION, prune_delivered_lines


class Command(RetentionCommand):
    help = ("Delete the stored transactions of delivered pushes older than DELIVERED_LINES_RETENTION_DAYS "
            "(Pending, TimedOut and Failed pushes keep theirs). Safe to run at any time, e.g. daily.")
    setting = "DELIVERED_LINES_RETENTION_DAYS"
    minimum = MIN_RETENTION
    too_short = ("A retention of {days} days is below {minimum}: a partner may still resend those transactions "
                 "within Xero's one-year window, and only their stored ids recognise the resend.")
    done = "Deleted {deleted} stored transactions of delivered pushes older than {days} days."

    def prune(self, older_than):
        return prune_delivered_lines(older_than=older_than)
