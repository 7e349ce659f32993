from django.apps import AppConfig


class XeroSandboxConfig(AppConfig):
    name = "apps.xero_sandbox"
    label = "xero_sandbox"
    verbose_name = "Xero sandbox (the embedded stand-in for Xero)"
