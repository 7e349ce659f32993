"""Staff's view of webhooks: consumers (why one is disabled, rotate its secret, send a
test event, enable it again) and deliveries (status, attempts, last answer, payload,
replay)."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from apps.tenants.admin import LargeTablePaginator, ReadOnlyInline

from . import consumers
from .events import EVENT_TYPES, TEST_EVENT
from .models import Attempt, Delivery, WebhookConsumer
from .urlpolicy import UrlRefused, check_url


class ConsumerForm(forms.ModelForm):
    class Meta:
        model = WebhookConsumer
        fields = ["partner", "url", "event_types", "company_tags", "disabled", "disabled_reason"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UrlRefused as exc:
            raise forms.ValidationError(exc.reason)
        return url


@admin.register(WebhookConsumer)
class WebhookConsumerAdmin(admin.ModelAdmin):
    form = ConsumerForm
    list_display = ["url", "partner", "disabled", "why_disabled", "failing_since", "created"]
    list_filter = ["disabled", "partner"]
    list_select_related = ["partner"]
    search_fields = ["url", "id"]
    readonly_fields = ["id", "failing_since", "secret_rotated_at", "created"]
    actions = ["rotate_secret", "send_test_event", "enable"]

    def has_add_permission(self, request):
        return False  # partners create consumers (with a secret shown to them once)

    @admin.display(description="why disabled")
    def why_disabled(self, consumer):
        return consumer.disabled_reason or ("by the partner" if consumer.disabled else "")

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secret(self, request, queryset):
        for consumer in queryset:
            messages.warning(request, f"New signing secret for {consumer.url}: {consumer.rotate_secret()} — copy it "
                                      "now, it will not be shown again; the old one signs for 24 hours more.")

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset):
        for consumer in queryset:
            event = consumers.consumer_send_test(consumer=consumer)
            messages.success(request, f"Test event {event.id} queued for {consumer.url}.")

    @admin.action(description="Enable again")
    def enable(self, request, queryset):
        for consumer in queryset:
            consumers.consumer_enable(consumer=consumer)
        messages.success(request, f"Enabled {queryset.count()} consumer(s).")


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = ["at", "status_code", "error", "duration_ms"]


class EventTypeFilter(admin.SimpleListFilter):
    """The event types we send, from the catalogue: listing the types found would read
    every delivery on every page."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in (*EVENT_TYPES, TEST_EVENT)]

    def queryset(self, request, queryset):
        return queryset.filter(event__event_type=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "event_id", "consumer", "status", "attempts", "last_status_code",
                    "last_attempt_at", "next_attempt_at"]
    list_filter = ["status", EventTypeFilter, "consumer__partner"]
    list_select_related = ["event", "consumer"]
    # Deliveries grow with every event: no full COUNT on every page.
    paginator = LargeTablePaginator
    show_full_result_count = False
    search_fields = ["event__id", "consumer__url"]
    fields = ["event_type", "event_id", "consumer", "status", "attempts", "last_status_code", "last_attempt_at",
              "last_error", "next_attempt_at", "delivered_at", "payload"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="event type", ordering="event__event_type")
    def event_type(self, delivery):
        return delivery.event.event_type

    @admin.display(description="payload")
    def payload(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(json.loads(delivery.event.body), indent=2))

    @admin.action(description="Replay (send again, same webhook-id)")
    def replay(self, request, queryset):
        for delivery in queryset:
            consumers.delivery_replay(delivery=delivery)
        messages.success(request, f"{queryset.count()} deliver{'y' if queryset.count() == 1 else 'ies'} queued again; "
                                  f"those to a disabled consumer wait until it is enabled.")


