from django.apps import AppConfig


class XeroAuthConfig(AppConfig):
    name = "apps.xero_auth"
    label = "xero_auth"
