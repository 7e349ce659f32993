from django.core.management.base import BaseCommand

from apps.xero_sandbox.services import organisation_create


class Command(BaseCommand):
    help = "Add (or update, by name) an organisation to the Xero sandbox."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--currency", required=True)
        parser.add_argument("--multi-currency", action="store_true")
        parser.add_argument("--country", default="")
        parser.add_argument("--short-code", default="")
        parser.add_argument("--no-bank-feeds", action="store_false", dest="bank_feeds")

    def handle(self, *args, **options):
        org = organisation_create(
            name=options["name"],
            currency=options["currency"],
            multi_currency=options["multi_currency"],
            country=options["country"],
            short_code=options["short_code"],
            bank_feeds_enabled=options["bank_feeds"],
        )
        self.stdout.write(f"tenant_id={org.tenant_id}")
