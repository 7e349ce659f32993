"""The shape of our pruning commands: delete what is older than a retention in days, the
setting's unless `--days` says otherwise, and never below a minimum that would delete
something still in use."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class RetentionCommand(BaseCommand):
    """Subclasses name the `setting` (days), the `minimum`, the sentence `too_short` (why
    less is refused; `{days}` and `{minimum}` filled in), the report `done` (`{deleted}`,
    `{days}`), and implement `prune(older_than)`, returning how many it deleted."""

    setting: str
    minimum: timedelta
    too_short: str
    done: str

    def prune(self, older_than: timedelta) -> int:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help=f"retention in days (default: {self.setting}; at least {self.minimum.days})")

    def handle(self, *args, days, **options):
        days = getattr(settings, self.setting) if days is None else days
        if days < self.minimum.days:
            raise CommandError(self.too_short.format(days=days, minimum=self.minimum.days))
        deleted = self.prune(timedelta(days=days))
        self.stdout.write(self.done.format(deleted=deleted, days=days))
