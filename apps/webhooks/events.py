"""The events a partner hears about, in Codat's envelopes and payloads (the Platform and
Bank Feeds specs' `webhooks` sections), written to the outbox by receivers of the domain
signals: in the transaction of the change, so what is rolled back is never sent."""

import uuid
from datetime import UTC

from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.feeds import signals as feeds_signals
from apps.feeds.models import PushStatus
from apps.feeds.serializers import SourceAccountOutput
from apps.tenants import signals as tenants_signals
from apps.tenants.serializers import CompanyOutput
from apps.xero_auth import signals as xero_signals
from apps.xero_auth.models import ConnectionStatus
from apps.xero_auth.serializers import ConnectionOutput

from .models import Event

COMPANY_CREATED = "company.created"
COMPANY_DELETED = "company.deleted"
CONNECTION_CREATED = "connection.created"
CONNECTION_CONNECTED = "connection.connected"
CONNECTION_DISCONNECTED = "connection.disconnected"
CONNECTION_RECONNECTED = "connection.reconnected"
CONNECTION_DELETED = "connection.deleted"
SOURCE_ACCOUNT_CONNECTED = "bankFeeds.sourceAccount.connected"
SOURCE_ACCOUNT_DISCONNECTED = "bankFeeds.sourceAccount.disconnected"
WRITE_SUCCESSFUL = "bankTransactions.write.successful"
WRITE_UNSUCCESSFUL = "bankTransactions.write.unsuccessful"
EVENT_TYPES = (COMPANY_CREATED, COMPANY_DELETED, CONNECTION_CREATED, CONNECTION_CONNECTED, CONNECTION_DISCONNECTED,
               CONNECTION_RECONNECTED, CONNECTION_DELETED, SOURCE_ACCOUNT_CONNECTED, SOURCE_ACCOUNT_DISCONNECTED,
               WRITE_SUCCESSFUL, WRITE_UNSUCCESSFUL)
# Sent only by staff's "send test event", to that one consumer, whatever it subscribed to.
TEST_EVENT = "webhook.test"


def codat_datetime(moment) -> str | None:
    """Codat's DateTime in UTC, e.g. 2024-08-08T17:10:34.015Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def company_tags(company) -> list[str]:
    """The company's tags as Codat's consumer filter names them: tagKey:tagValue."""
    return [f"{key}:{value}" for key, value in (company.tags or {}).items()]


def company_reference(company) -> dict:
    """Codat's companyReference; its portal link is the company's page in our portal."""
    return {"id": str(company.id), "name": company.name, "description": company.description,
            "links": {"portal": company.redirect}, "tags": company.tags or {}}


def company_details(company) -> dict:
    """Codat's companyDetails: the Company of the companies API without its connections."""
    data = dict(CompanyOutput(company).data)
    data.pop("dataConnections", None)
    return data


def emit(*, company, event_type: str, payload: dict, partner_id=None) -> Event:
    """Write one event to the outbox (the caller's transaction decides whether it is sent)."""
    event_id = uuid.uuid4()
    generated = timezone.now()
    envelope = {"id": str(event_id), "eventType": event_type, "generatedDate": codat_datetime(generated),
                "payload": payload}
    return Event.objects.create(
        id=event_id, partner_id=partner_id or company.partner_id, company_id=company.id, event_type=event_type,
        generated=generated, body=JSONRenderer().render(envelope).decode(), company_tags=company_tags(company))


# --- Receivers: one per domain signal ----------------------------------------------------


def _company_created(*, company, **_):
    emit(company=company, event_type=COMPANY_CREATED, payload=company_details(company))


def _company_deleted(*, company, **_):
    emit(company=company, event_type=COMPANY_DELETED, payload=company_details(company))


def _connection_event(connection, event_type):
    company = connection.company
    emit(company=company, event_type=event_type,
         payload={"referenceCompany": company_reference(company), "connection": ConnectionOutput(connection).data})


def _connection_created(*, connection, **_):
    _connection_event(connection, CONNECTION_CREATED)


def _connection_linked(*, connection, previous_status, **_):
    if previous_status == ConnectionStatus.PENDING_AUTH:
        _connection_event(connection, CONNECTION_CONNECTED)
    elif previous_status in (ConnectionStatus.UNLINKED, ConnectionStatus.DEAUTHORIZED):
        _connection_event(connection, CONNECTION_RECONNECTED)
    # Linked again while linked (the company consented once more): nothing changed for the partner.


def _connection_lost(*, connection, **_):
    _connection_event(connection, CONNECTION_DISCONNECTED)


def _connection_deleted(*, connection, **_):
    _connection_event(connection, CONNECTION_DELETED)


def _source_account_event(source_account, event_type):
    connection = source_account.connection
    company = connection.company
    emit(company=company, event_type=event_type, payload={
        "referenceCompany": company_reference(company), "connectionId": str(connection.id),
        "sourceAccount": SourceAccountOutput(source_account).data})


def _source_account_connected(*, source_account, **_):
    _source_account_event(source_account, SOURCE_ACCOUNT_CONNECTED)


def _source_account_disconnected(*, source_account, **_):
    _source_account_event(source_account, SOURCE_ACCOUNT_DISCONNECTED)


def _push_settled(*, operation, **_):
    company = operation.company
    outcome = "successful" if operation.status == PushStatus.SUCCESS else "unsuccessful"
    emit(company=company, event_type=f"{operation.data_type}.write.{outcome}", payload={
        "id": str(operation.push_operation_key), "type": "Create", "referenceCompany": company_reference(company),
        "connectionId": str(operation.connection_id), "requestedOnDate": codat_datetime(operation.requested_on),
        "completedOnDate": codat_datetime(operation.completed_on), "status": operation.status,
        "record": None, "attachmentId": None})


RECEIVERS = [
    (tenants_signals.company_created, _company_created),
    (tenants_signals.company_deleted, _company_deleted),
    (xero_signals.connection_created, _connection_created),
    (xero_signals.connection_linked, _connection_linked),
    (xero_signals.connection_lost, _connection_lost),
    (xero_signals.connection_deleted, _connection_deleted),
    (feeds_signals.source_account_connected, _source_account_connected),
    (feeds_signals.source_account_disconnected, _source_account_disconnected),
    (feeds_signals.push_settled, _push_settled),
]


def connect() -> None:
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"webhooks.{receiver.__name__}")
