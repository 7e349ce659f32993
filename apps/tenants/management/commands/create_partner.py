from django.core.management.base import BaseCommand

from apps.tenants.services import partner_create


class Command(BaseCommand):
    help = "Create a partner and an API key; the key is printed alone on the last line (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--return-url", default="")
        parser.add_argument("--support-email", default="")

    def handle(self, *args, name, return_url, support_email, **options):
        partner, raw_key = partner_create(name=name, return_url=return_url, support_email=support_email)
        self.stdout.write(f"Created partner {partner.name} ({partner.slug}). Its API key, shown only once:")
        self.stdout.write(raw_key)
