"""Delivery to a real receiver: the same webhook-id on a retry, the retry schedule, a
change rolled back sends nothing, partners and company tags keep events apart, and a
consumer failing for five days is disabled with the reason."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from werkzeug import Response

from apps.tenants.services import company_create
from apps.webhooks import relay as relay_module
from apps.webhooks.consumers import consumer_create
from apps.webhooks.models import Delivery, DeliveryStatus, WebhookConsumer

from .conftest import received, received_events, relay

pytestmark = pytest.mark.django_db


def make_due(**filters):
    Delivery.objects.filter(**filters).update(next_attempt_at=timezone.now())


def test_a_receiver_answering_500_then_200_gets_the_same_webhook_id_twice_and_it_ends_delivered(
        partner_a, consumer, httpserver):
    answers = iter([Response("down", status=500), Response("ok", status=200)])
    httpserver.expect_request("/hooks").respond_with_handler(lambda request: next(answers))
    company_create(partner=partner_a.partner, name="Retry Co")

    relay()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert timedelta(seconds=4) < delivery.next_attempt_at - delivery.last_attempt_at <= timedelta(seconds=5)
    relay()  # not due yet: nothing is sent
    assert len(received(httpserver)) == 1
    make_due()
    relay()

    first, second = (headers for headers, _ in received(httpserver))
    assert first["webhook-id"] == second["webhook-id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)
    assert [a.status_code for a in delivery.attempt_log.order_by("at")] == [500, 200]


def test_the_schedule_ends_in_failed_after_eight_attempts(partner_a, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("no", status=503)
    company_create(partner=partner_a.partner, name="Never Co")
    gaps = []
    for _ in range(8):
        make_due()
        relay()
        delivery = Delivery.objects.get()
        gaps.append(delivery.next_attempt_at - delivery.last_attempt_at)
    assert delivery.status == DeliveryStatus.FAILED
    assert [round(g.total_seconds()) for g in gaps[:7]] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert len(received(httpserver)) == 8


def test_a_rolled_back_change_sends_nothing(partner_a, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    def failing_request():
        with transaction.atomic():
            company_create(partner=partner_a.partner, name="Rolled Back Co")
            raise RuntimeError("the request failed after the company was made")

    with pytest.raises(RuntimeError):
        failing_request()
    company_create(partner=partner_a.partner, name="Kept Co")
    relay()
    assert [e["payload"]["name"] for e in received_events(httpserver)] == ["Kept Co"]


def test_a_consumer_of_partner_b_never_sees_partner_as_events(partner_a, partner_b, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    httpserver.expect_request("/b-hooks").respond_with_data("ok")
    from apps.webhooks.events import EVENT_TYPES

    consumer_create(partner=partner_b.partner, url=httpserver.url_for("/b-hooks"), event_types=list(EVENT_TYPES))
    company_create(partner=partner_a.partner, name="Alpha Customer")
    company_create(partner=partner_b.partner, name="Beta Customer")
    relay()
    by_path = {}
    for request, _ in httpserver.log:
        by_path.setdefault(request.path, []).append(request.get_json()["payload"]["name"])
    assert by_path == {"/hooks": ["Alpha Customer"], "/b-hooks": ["Beta Customer"]}


def test_a_consumer_gets_only_its_event_types_and_companies_with_one_of_its_tags(partner_a, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    consumer_create(partner=partner_a.partner, url=httpserver.url_for("/hooks"), event_types=["company.created"],
                    company_tags=["region:uk", "tier:gold"])
    company_create(partner=partner_a.partner, name="UK Co", tags={"region": "uk"})
    company_create(partner=partner_a.partner, name="Gold Co", tags={"tier": "gold", "region": "us"})
    company_create(partner=partner_a.partner, name="US Co", tags={"region": "us"})
    company_create(partner=partner_a.partner, name="Untagged Co")
    uk = company_create(partner=partner_a.partner, name="Deleted Co", tags={"region": "uk"})
    from apps.tenants.services import company_delete

    company_delete(company=uk)  # company.deleted: not subscribed
    relay()
    assert sorted(e["payload"]["name"] for e in received_events(httpserver)) == ["Deleted Co", "Gold Co", "UK Co"]
    assert {e["eventType"] for e in received_events(httpserver)} == {"company.created"}


def test_a_consumer_failing_for_five_days_is_disabled_and_staff_see_why(partner_a, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("no", status=500)
    company_create(partner=partner_a.partner, name="Failing Co")
    relay()
    WebhookConsumer.objects.filter(pk=consumer.pk).update(failing_since=timezone.now() - relay_module.DISABLE_AFTER)
    make_due()
    relay()
    consumer.refresh_from_db()
    assert consumer.disabled
    assert "Every attempt failed for 5 days" in consumer.disabled_reason
    assert "HTTP 500" in consumer.disabled_reason
    company_create(partner=partner_a.partner, name="After Co")
    make_due()
    relay()
    assert len(received(httpserver)) == 2  # nothing more goes to a disabled consumer


def test_a_consumer_that_answers_again_is_no_longer_counted_failing(partner_a, consumer, httpserver):
    answers = iter([Response("down", status=500), Response("ok")])
    httpserver.expect_request("/hooks").respond_with_handler(lambda request: next(answers))
    company_create(partner=partner_a.partner, name="Flaky Co")
    relay()
    consumer.refresh_from_db()
    assert consumer.failing_since is not None
    make_due()
    relay()
    consumer.refresh_from_db()
    assert consumer.failing_since is None


def test_a_slow_receiver_is_a_failed_attempt(partner_a, consumer, httpserver, settings):
    import time

    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    httpserver.expect_request("/hooks").respond_with_handler(lambda request: time.sleep(1.5) or Response("late"))
    company_create(partner=partner_a.partner, name="Slow Co")
    relay()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert "No answer within 0.5 s" in delivery.last_error


def test_a_redirect_is_not_followed_and_not_delivered(partner_a, consumer, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=302, headers={"Location": "http://10.0.0.1/"})
    company_create(partner=partner_a.partner, name="Moved Co")
    relay()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(partner_a, consumer, httpserver):
    from svix.webhooks import Webhook

    httpserver.expect_request("/hooks").respond_with_data("ok")
    old = consumer.secret
    new = consumer.rotate_secret()
    company_create(partner=partner_a.partner, name="Rotated Co")
    relay()
    [(headers, body)] = received(httpserver)
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    assert len(headers["webhook-signature"].split(" ")) == 2
