"""Every event type reaches a real receiver, from the real flows (partner API, OAuth with
the sandbox over HTTP, pushes), with a payload that validates against Codat's schema for
it and a signature that Svix's own verifier accepts."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from svix.webhooks import Webhook

from apps.feeds.models import PushOperation
from apps.webhooks import events
from apps.webhooks.models import Event
from apps.xero_auth.models import XeroConnection
from tests.feeds.accounts_support import create_account, mapping_url
from tests.feeds.push_support import add_fault, batch, push_url, read_operation
from tests.xero_helpers import link, sandbox_ready

from .conftest import envelope_validator, received, relay

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_event_type_arrives_signed_and_in_codats_shape(partner_a, consumer, httpserver,
                                                              xero_on_live_server):
    httpserver.expect_request("/hooks", method="POST").respond_with_data("ok")
    sandbox_ready(xero_on_live_server)
    company_id = partner_a.post("/api/companies", {"name": "Hooked Ltd", "tags": {"region": "uk"}},
                                format="json").json()["id"]
    connection_id = partner_a.post(f"/api/companies/{company_id}/connections", {"platformKey": "gbol"},
                                   format="json").json()["id"]
    connection = link(XeroConnection.objects.get(pk=connection_id))
    create_account(partner_a, connection, id="acc-1")
    # The feed starts before the batches' lines (nothing dated before it is sent).
    start = (timezone.now() - timedelta(days=30)).date().isoformat()
    mapped = partner_a.post(mapping_url(connection), {"sourceAccountId": "acc-1", "feedStartDate": start},
                            format="json")
    assert mapped.json()["status"] == "connected", mapped.json()
    account = connection.source_accounts.get(account_id="acc-1")

    pushed = partner_a.post(push_url(account), {"accountId": "acc-1", "transactions": batch(2, opening=Decimal(
        "99.99"))}, format="json").json()
    assert read_operation(partner_a, account, pushed["pushOperationKey"])["status"] == "Success"
    refused = partner_a.post(push_url(account), {"accountId": "other", "transactions": batch(1, first_id=9)},
                             format="json")
    assert refused.status_code == 400
    # A push Xero has taken but not confirmed, whose timeoutInMinutes passes: TimedOut.
    late = partner_a.post(push_url(account) + "?timeoutInMinutes=1", {"accountId": "acc-1", "transactions": batch(
        1, first_id=20, opening=Decimal("97.49"))}, format="json").json()
    PushOperation.objects.filter(pk=late["pushOperationKey"]).update(requested_on=timezone.now() - timedelta(
        minutes=2))
    add_fault(xero_on_live_server, operation="bankfeeds.xro/1.0/Statements", method="GET", status=503)
    assert read_operation(partner_a, account, late["pushOperationKey"])["status"] == "TimedOut"

    assert partner_a.patch(f"/api/companies/{company_id}/connections/{connection_id}", {"status": "Unlinked"},
                           format="json").status_code == 200
    link(XeroConnection.objects.get(pk=connection_id))
    assert partner_a.delete(f"/api/companies/{company_id}/connections/{connection_id}").status_code == 200
    assert partner_a.delete(f"/api/companies/{company_id}").status_code == 204
    relay()

    # Deliveries go out several at once, so they may arrive in any order (as Codat's do).
    order = {str(pk): n for n, pk in enumerate(Event.objects.order_by("generated").values_list("pk", flat=True))}
    arrived = sorted(received(httpserver), key=lambda request: order[request[0]["webhook-id"]])
    envelopes = [json.loads(body) for _, body in arrived]
    kinds = [(e["eventType"], e["payload"].get("status") or e["payload"].get("connection", {}).get("status")
              or e["payload"].get("sourceAccount", {}).get("status")) for e in envelopes]
    assert kinds == [
        ("company.created", None),
        ("connection.created", "PendingAuth"),
        ("connection.connected", "Linked"),
        ("bankFeeds.sourceAccount.connected", "connected"),
        ("bankTransactions.write.successful", "Success"),
        ("bankTransactions.write.unsuccessful", "Failed"),
        ("bankTransactions.write.unsuccessful", "TimedOut"),
        ("bankFeeds.sourceAccount.disconnected", "disconnected"),
        ("connection.disconnected", "Unlinked"),
        ("connection.reconnected", "Linked"),
        ("connection.deleted", "Linked"),
        ("company.deleted", None),
    ]
    assert {kind for kind, _ in kinds} == set(events.EVENT_TYPES)
    for headers, body in arrived:
        Webhook(consumer.secret).verify(body, headers)  # raises unless signed with the consumer's secret
        envelope = json.loads(body)
        errors = [e.message for e in envelope_validator(envelope["eventType"]).iter_errors(envelope)]
        assert errors == [], (envelope["eventType"], errors)
        assert envelope["id"] == headers["webhook-id"]
        assert envelope["payload"].get("referenceCompany", {"id": company_id})["id"] == company_id
    write = envelopes[4]["payload"]
    assert (write["id"], write["connectionId"], write["type"]) == (pushed["pushOperationKey"], connection_id, "Create")


def test_a_signature_made_with_another_secret_does_not_verify(partner_a, consumer, httpserver):
    from svix.webhooks import WebhookVerificationError

    from apps.tenants.services import company_create
    from apps.webhooks.models import new_secret

    httpserver.expect_request("/hooks").respond_with_data("ok")
    company_create(partner=partner_a.partner, name="Signed Co")
    relay()
    [(headers, body)] = received(httpserver)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    Webhook(consumer.secret).verify(body, headers)
