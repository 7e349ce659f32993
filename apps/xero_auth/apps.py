from django.apps import AppConfig


class XeroAuthConfig(AppConfig):
    name = "apps.xero_auth"
    label = "xero_auth"
    verbose_name = "Xero connections"

    def ready(self):
        # Tenants sits below and imports nothing of this app: it is told here what a
        # company's connections look like on the wire and what to do before it goes.
        from apps.tenants.serializers import DataConnections
        from apps.tenants.signals import company_deleting

        from . import (
            api,  # noqa: F401 - registers how the partner API answers Xero's failures
            checks,  # noqa: F401 - registers the deploy checks
        )
        from .connections import company_connections_revoke
        from .serializers import ConnectionOutput

        DataConnections.register(ConnectionOutput, prefetch=("connections",))
        company_deleting.connect(company_connections_revoke, dispatch_uid="xero_auth.revoke_before_company_delete")
