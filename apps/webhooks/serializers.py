"""The wire shapes of the consumers API: Codat Platform's WebhookConsumer in and out, and
the signing secret (given once, with the consumer it was made for)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .models import WebhookConsumer


@extend_schema_serializer(component_name="WebhookConsumerPrototype")
class WebhookConsumerInput(serializers.Serializer):
    """Codat's webhookConsumerPrototype."""

    url = serializers.URLField(max_length=2048)
    eventTypes = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50)
    disabled = serializers.BooleanField(required=False, allow_null=True, default=False)
    companyTags = serializers.ListField(child=serializers.CharField(max_length=128), required=False, allow_null=True,
                                        max_length=10)

    def consumer(self) -> dict:
        data = self.validated_data
        return {"url": data["url"], "event_types": data["eventTypes"], "disabled": bool(data.get("disabled")),
                "company_tags": data.get("companyTags")}


@extend_schema_serializer(component_name="WebhookConsumer")
class WebhookConsumerOutput(serializers.Serializer):
    """Codat's WebhookConsumer."""

    id = serializers.UUIDField()
    url = serializers.CharField()
    eventTypes = serializers.ListField(source="event_types", child=serializers.CharField())
    disabled = serializers.BooleanField()
    companyTags = serializers.ListField(source="company_tags", child=serializers.CharField(), allow_null=True)


@extend_schema_serializer(component_name="CreatedWebhookConsumer")
class CreatedWebhookConsumerOutput(WebhookConsumerOutput):
    """A new consumer, with its signing secret: shown this once."""

    secret = serializers.CharField(help_text="The whsec_ signing secret; shown only in this answer.")


@extend_schema_serializer(component_name="WebhookConsumers")
class WebhookConsumersOutput(serializers.Serializer):
    """Codat's webhookConsumers: every consumer of the partner, not paged."""

    results = WebhookConsumerOutput(many=True)


@extend_schema_serializer(component_name="WebhookConsumerSecret")
class SigningSecretOutput(serializers.Serializer):
    """A new signing secret (Svix's EndpointSecretOut); the previous one signs for a day more."""

    key = serializers.CharField()


def consumers_answer(consumers: list[WebhookConsumer]) -> dict:
    return WebhookConsumersOutput({"results": consumers}).data
