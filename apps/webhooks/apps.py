from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # The apps below send domain signals inside the transaction of each change; the
        # outbox row is written there too (events.py), so a rolled-back change sends nothing.
        from . import events

        events.connect()
