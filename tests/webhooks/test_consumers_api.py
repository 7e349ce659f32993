"""The consumers API in Codat Platform's wire format, driven by our test client and by
Codat's own `codat-platform` SDK against a live server."""

import pytest
from svix.webhooks import Webhook

from apps.tenants.services import company_create
from apps.webhooks.models import WebhookConsumer

from .conftest import received, relay

pytestmark = pytest.mark.django_db


def create(partner, **body):
    return partner.post("/api/webhooks", {"eventTypes": ["company.created"], **body}, format="json")


def test_a_consumer_is_created_with_a_secret_shown_once_then_listed_and_deleted(partner_a, hook_url):
    created = create(partner_a, url=hook_url, companyTags=["region:uk"])
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "url", "eventTypes", "disabled", "companyTags", "secret"}
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["eventTypes"], body["disabled"], body["companyTags"]) == (
        hook_url, ["company.created"], False, ["region:uk"])

    listed = partner_a.get("/api/webhooks")
    assert listed.status_code == 200
    assert listed.json() == {"results": [{k: v for k, v in body.items() if k != "secret"}]}
    assert body["secret"] not in listed.content.decode()

    assert partner_a.delete(f"/api/webhooks/{body['id']}").status_code == 204
    assert partner_a.get("/api/webhooks").json() == {"results": []}


def test_the_secret_is_stored_encrypted(partner_a, hook_url):
    from django.db import connection

    secret = create(partner_a, url=hook_url).json()["secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookconsumer")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored


def test_another_partners_consumer_is_a_404_and_stays(partner_a, partner_b, hook_url):
    consumer_id = create(partner_a, url=hook_url).json()["id"]
    for response in (partner_b.delete(f"/api/webhooks/{consumer_id}"),
                     partner_b.post(f"/api/webhooks/{consumer_id}/secret/rotate")):
        assert response.status_code == 404
        assert response.json()["statusCode"] == 404
    assert partner_b.get("/api/webhooks").json() == {"results": []}
    assert WebhookConsumer.objects.filter(pk=consumer_id).exists()


@pytest.mark.parametrize("url", ["https://10.1.2.3/hooks", "https://192.168.0.10/hooks", "https://169.254.169.254/x",
                                 "https://[fd00::1]/hooks", "https://[::ffff:10.0.0.1]/hooks"])
def test_a_private_or_link_local_address_is_refused_with_a_400_error_message(partner_a, url):
    response = create(partner_a, url=url)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["service"] == "PublicApi"
    [error] = body["validation"]["errors"]
    assert error["itemId"] == "url" and "non-public address" in error["message"]
    assert not WebhookConsumer.objects.exists()


def test_without_the_loopback_setting_loopback_and_plain_http_are_refused(partner_a, hook_url, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    assert "non-public" in create(partner_a, url=hook_url.replace("http:", "https:")).json()["validation"][
        "errors"][0]["message"]
    assert create(partner_a, url="http://93.184.215.14/hooks").json()["validation"]["errors"][0]["message"] == (
        "url must use https.")


def test_a_host_that_resolves_privately_is_refused(partner_a):
    # localhost resolves to loopback; with the demo's allowance off it is a private address.
    from django.test import override_settings

    with override_settings(WEBHOOK_ALLOW_LOOPBACK=False):
        assert create(partner_a, url="https://localhost/hooks").status_code == 400


def test_unknown_event_types_and_an_empty_list_are_refused(partner_a, hook_url):
    unknown = create(partner_a, url=hook_url, eventTypes=["DataSyncCompleted"])
    assert unknown.status_code == 400
    assert "'DataSyncCompleted' is not an event this service sends" in unknown.json()["validation"]["errors"][0][
        "message"]
    assert create(partner_a, url=hook_url, eventTypes=[]).status_code == 400


def test_a_consumer_created_disabled_gets_nothing(partner_a, hook_url, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    assert create(partner_a, url=hook_url, disabled=True).json()["disabled"] is True
    company_create(partner=partner_a.partner, name="Quiet Co")
    relay()
    assert received(httpserver) == []


def test_rotating_gives_a_new_secret_once(partner_a, hook_url):
    created = create(partner_a, url=hook_url).json()
    rotated = partner_a.post(f"/api/webhooks/{created['id']}/secret/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["key"].startswith("whsec_") and rotated.json()["key"] != created["secret"]


@pytest.mark.django_db(transaction=True)
def test_codats_sdk_creates_lists_and_deletes_consumers_unchanged(live_server, partner_a, hook_url, httpserver):
    from codat_platform import CodatPlatform
    from codat_platform.models import shared
    from codat_platform.utils.retries import RetryConfig

    httpserver.expect_request("/hooks").respond_with_data("ok")
    with CodatPlatform(security=shared.Security(auth_header=partner_a.auth), server_url=f"{live_server.url}/api",
                       retry_config=RetryConfig("none", None, False)) as sdk:
        made = sdk.webhooks.create_consumer(request={"url": hook_url, "event_types": ["company.created"],
                                                     "company_tags": ["region:uk"]})
        assert (made.url, made.event_types, made.disabled, made.company_tags) == (
            hook_url, ["company.created"], False, ["region:uk"])
        # The SDK drops the answer's extra `secret`; an SDK user gets one by rotating.
        secret = partner_a.post(f"/api/webhooks/{made.id}/secret/rotate").json()["key"]
        listed = sdk.webhooks.list_consumers()
        assert [c.id for c in listed.results] == [made.id]

        company_create(partner=partner_a.partner, name="SDK Co", tags={"region": "uk"})
        relay()
        [(headers, body)] = received(httpserver)
        Webhook(secret).verify(body, headers)

        assert sdk.webhooks.delete_consumer(request={"webhook_id": made.id}) is None
        assert sdk.webhooks.list_consumers().results == []
