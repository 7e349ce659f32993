from django.core.management.base import BaseCommand

from apps.xero_sandbox.services import app_register


class Command(BaseCommand):
    help = "Register (or update, given --client-id) an OAuth app in the Xero sandbox."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--redirect-uri", action="append", dest="redirect_uris", required=True)
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret")
        parser.add_argument("--bankfeeds", action="store_true", default=True)
        parser.add_argument("--no-bankfeeds", action="store_false", dest="bankfeeds")

    def handle(self, *args, **options):
        app = app_register(
            name=options["name"],
            redirect_uris=options["redirect_uris"],
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            bankfeeds=options["bankfeeds"],
        )
        self.stdout.write(f"client_id={app.client_id}")
        self.stdout.write(f"client_secret={app.client_secret}")
