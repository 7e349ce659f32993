import signal

from django.core.management.base import BaseCommand

from apps.webhooks.relay import Relay


class Command(BaseCommand):
    help = ("Deliver partner webhooks from the outbox (several may run on PostgreSQL), and run the sweeps that "
            "settle Pending pushes and check that linked organisations are still connected in Xero.")

    def add_arguments(self, parser):
        parser.add_argument("--exit-when-idle", action="store_true", help="Stop once nothing is due (tests, scripts).")
        parser.add_argument("--no-upkeep", action="store_true", help="Deliver only: no push sweep, no Xero check.")

    def handle(self, *args, exit_when_idle=False, no_upkeep=False, **options):
        relay = Relay(upkeep=not no_upkeep)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: relay.stop.set())
        self.stdout.write("Delivering webhooks" + (" until idle" if exit_when_idle else "") + ".")
        relay.run(exit_when_idle=exit_when_idle)
        self.stdout.write(f"Stopped after {relay.handled} events and deliveries.")
