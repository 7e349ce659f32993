from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The Codat API kit: paging, query, Idempotency-Key, errors, schema. No domain."""

    name = "apps.api"
    label = "api"
