from django.apps import AppConfig


class MappingUiConfig(AppConfig):
    name = "apps.mapping_ui"
    label = "mapping_ui"
