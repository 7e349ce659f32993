"""Staff's webhook pages: why a consumer is disabled, a test event, a new secret shown
once, deliveries with their answers and payload, replay with the same webhook-id."""

import pytest
from django.contrib.auth import get_user_model

from apps.tenants.services import company_create
from apps.webhooks.models import Delivery, DeliveryStatus, Event, WebhookConsumer

from .conftest import received, relay

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "pw")
    client.login(username="ops", password="pw")
    return client


def act(staff, model, action, pks):
    return staff.post(f"/admin/webhooks/{model}/", {"action": action, "_selected_action": [str(p) for p in pks]},
                      follow=True)


def test_the_consumer_list_says_why_one_was_disabled_and_never_shows_its_secret(staff, consumer):
    WebhookConsumer.objects.filter(pk=consumer.pk).update(disabled=True, disabled_reason="Every attempt failed")
    page = staff.get("/admin/webhooks/webhookconsumer/").content.decode()
    assert "Every attempt failed" in page
    detail = staff.get(f"/admin/webhooks/webhookconsumer/{consumer.pk}/change/").content.decode()
    assert consumer.secret not in page and consumer.secret not in detail


def test_rotating_shows_the_new_secret_once(staff, consumer):
    page = act(staff, "webhookconsumer", "rotate_secret", [consumer.pk]).content.decode()
    consumer.refresh_from_db()
    assert consumer.secret in page
    assert consumer.secret not in staff.get("/admin/webhooks/webhookconsumer/").content.decode()


def test_a_test_event_goes_to_that_consumer_alone(staff, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    act(staff, "webhookconsumer", "send_test_event", [consumer.pk])
    relay()
    [(headers, body)] = received(httpserver)
    assert '"eventType":"webhook.test"' in body
    assert Event.objects.get().event_type == "webhook.test"


def test_a_failed_delivery_shows_its_answer_and_payload_and_replays_with_the_same_id(staff, partner_a, consumer,
                                                                                     httpserver):
    httpserver.expect_request("/hooks").respond_with_data("no", status=500)
    company_create(partner=partner_a.partner, name="Replayed Co")
    relay()
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    delivery = Delivery.objects.get()
    page = staff.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content.decode()
    assert "Replayed Co" in page and "500" in page

    httpserver.clear()
    httpserver.expect_request("/hooks").respond_with_data("ok")
    act(staff, "delivery", "replay", [delivery.pk])
    relay()
    [(headers, _)] = received(httpserver)
    assert headers["webhook-id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_staff_cannot_give_a_consumer_a_private_url(staff, consumer):
    response = staff.post(f"/admin/webhooks/webhookconsumer/{consumer.pk}/change/", {
        "partner": consumer.partner_id, "url": "https://10.0.0.5/hooks", "event_types": '["company.created"]',
        "company_tags": "null", "disabled_reason": ""})
    assert response.status_code == 200
    assert "non-public address" in response.content.decode()
    consumer.refresh_from_db()
    assert consumer.url != "https://10.0.0.5/hooks"


def test_the_delivery_list_filters_by_event_type(staff, partner_a, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    company_create(partner=partner_a.partner, name="Filtered Co")
    act(staff, "webhookconsumer", "send_test_event", [consumer.pk])
    relay()
    created, test = (Event.objects.get(event_type=t) for t in ("company.created", "webhook.test"))

    page = staff.get("/admin/webhooks/delivery/", {"event_type": "company.created"}).content.decode()

    assert str(created.id) in page and str(test.id) not in page
    assert "connection.disconnected" in page  # every type we send is offered, found or not
