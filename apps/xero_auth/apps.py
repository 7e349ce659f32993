from django.apps import AppConfig


class XeroAuthConfig(AppConfig):
    name = "apps.xero_auth"
    label = "xero_auth"

    def ready(self):
        # Tenants is the bottom layer and imports nothing above it; the companies API
        # learns about connections here instead.
        from apps.tenants import api as tenants_api
        from apps.tenants import services as tenants_services

        from .api import ConnectionOutput
        from .services import company_connections_revoke

        tenants_api.CompanyOutput.connection_serializer = ConnectionOutput
        if company_connections_revoke not in tenants_services.COMPANY_DELETE_HOOKS:
            tenants_services.COMPANY_DELETE_HOOKS.append(company_connections_revoke)
