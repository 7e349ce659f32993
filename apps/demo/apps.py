from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo's commands (seed, serve): top floor, beside config; nothing imports it."""

    name = "apps.demo"
    label = "demo"
