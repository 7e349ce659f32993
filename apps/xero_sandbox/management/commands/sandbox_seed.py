from django.core.management.base import BaseCommand

from apps.xero_sandbox.services import sandbox_seed


class Command(BaseCommand):
    help = "Create the sandbox's demo organisations and bank accounts (idempotent)."

    def handle(self, *args, **options):
        for org in sandbox_seed():
            if options["verbosity"] > 0:
                self.stdout.write(f"{org.name} tenant_id={org.tenant_id}")
