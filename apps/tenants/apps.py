from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "apps.tenants"
    label = "tenants"
    verbose_name = "Partners and companies"

    def ready(self):
        from . import authentication  # noqa: F401 - registers the API key scheme with drf-spectacular
