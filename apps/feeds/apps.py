from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "apps.feeds"
    label = "feeds"
    verbose_name = "Bank feeds"

    def ready(self):
        # xero_auth sits below and imports nothing of feeds: a lost connection's accounts
        # are disconnected here, in the transaction that marks it.
        from apps.xero_auth.signals import connection_lost

        from .source_accounts import source_accounts_connection_lost

        connection_lost.connect(source_accounts_connection_lost, dispatch_uid="feeds.disconnect_lost_accounts")
