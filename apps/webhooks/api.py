"""The consumers part of the partner API, in Codat Platform's wire format: create, list
and delete webhook consumers; and a new signing secret for a consumer (Codat's SDK drops
the create answer's extra `secret` field, so an SDK user gets one here)."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.schema import error_answers
from apps.tenants.selectors import owned_or_404

from . import consumers
from .serializers import (
    CreatedWebhookConsumerOutput,
    SigningSecretOutput,
    WebhookConsumerInput,
    WebhookConsumersOutput,
    consumers_answer,
)

TAGS = ["Webhooks"]


def _consumer(request, webhook_id):
    return owned_or_404(request.user.webhook_consumers.all(), webhook_id, "Webhook consumer")


class WebhookConsumersView(APIView):
    @extend_schema(
        operation_id="list-webhook-consumers", tags=TAGS, summary="List webhook consumers",
        description="Your webhook consumers (Codat Platform's wire format): where each event type you subscribed "
                    "to is delivered, signed with the consumer's own secret.",
        responses={200: WebhookConsumersOutput})
    def get(self, request):
        return Response(consumers_answer(list(request.user.webhook_consumers.all())))

    @extend_schema(
        operation_id="create-webhook-consumer", tags=TAGS, summary="Create a webhook consumer",
        description="Subscribe an HTTPS endpoint to event types, optionally only for companies with given tags. "
                    "The answer carries the consumer's `whsec_` signing secret, shown this once (Codat's SDK drops "
                    "it: rotate the secret to get one). URLs on loopback, private or link-local addresses are "
                    "refused. Not under Idempotency-Key, so the secret is never kept in a replayable answer.",
        request=WebhookConsumerInput,
        responses={201: OpenApiResponse(CreatedWebhookConsumerOutput, "The consumer, with its secret."),
                   **error_answers(400)})
    def post(self, request):
        # Not under Idempotency-Key: a replayed answer would have to keep the secret.
        body = WebhookConsumerInput(data=request.data)
        body.is_valid(raise_exception=True)
        consumer = consumers.consumer_create(partner=request.user, **body.consumer())
        return Response(CreatedWebhookConsumerOutput(consumer).data, status=201)


class WebhookConsumerView(APIView):
    @extend_schema(
        operation_id="delete-webhook-consumer", tags=TAGS, summary="Delete a webhook consumer",
        description="Nothing more is delivered to it; deliveries not yet made are dropped.",
        responses={204: OpenApiResponse(None, "Deleted."), **error_answers(404)})
    def delete(self, request, webhook_id):
        consumers.consumer_delete(consumer=_consumer(request, webhook_id))
        return Response(status=204)


class WebhookSecretRotateView(APIView):
    @extend_schema(
        operation_id="rotate-webhook-consumer-secret", tags=TAGS, summary="Rotate a consumer's signing secret",
        description="A new `whsec_` secret, shown this once; deliveries are signed with both the old and the new "
                    "secret for 24 hours, so a receiver can switch without missing one.",
        request=None, responses={200: SigningSecretOutput, **error_answers(404)})
    def post(self, request, webhook_id):
        return Response({"key": _consumer(request, webhook_id).rotate_secret()})


urlpatterns = [
    path("webhooks", WebhookConsumersView.as_view(), name="webhook-consumers"),
    path("webhooks/<str:webhook_id>", WebhookConsumerView.as_view(), name="webhook-consumer"),
    path("webhooks/<str:webhook_id>/secret/rotate", WebhookSecretRotateView.as_view(), name="webhook-secret-rotate"),
]
