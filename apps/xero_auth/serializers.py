"""The wire shapes of the connections API: Codat's Connection and company information."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.api.serializers import REQUEST_INVALID
from apps.core.refusals import Refused, item

from .models import XERO_INTEGRATION_ID, XERO_PLATFORM_KEY, XERO_PLATFORM_NAME, XERO_SOURCE_ID, ConnectionStatus

PLATFORM_KEYS = {XERO_PLATFORM_KEY: XERO_PLATFORM_NAME}
PLATFORM_UNKNOWN = "There is no integration with platformKey {key}; available platform keys: {known}."
BODY_NOT_OBJECT = "The request body must be a JSON object."
UNLINK_ONLY = ("status can only be set to Unlinked: a connection becomes Linked when the company connects Xero "
               "through its linkUrl.")


@extend_schema_serializer(component_name="Connection")
class ConnectionOutput(serializers.Serializer):
    """Codat's Connection. Tokens are never part of it."""

    id = serializers.UUIDField()
    integrationId = serializers.SerializerMethodField()
    integrationKey = serializers.SerializerMethodField()
    sourceId = serializers.SerializerMethodField()
    platformName = serializers.SerializerMethodField()
    linkUrl = serializers.SerializerMethodField()
    status = serializers.CharField()
    lastSync = serializers.SerializerMethodField()
    created = serializers.DateTimeField()
    sourceType = serializers.SerializerMethodField()
    dataConnectionErrors = serializers.JSONField(source="data_connection_errors")
    connectionInfo = serializers.SerializerMethodField()

    def get_integrationId(self, connection) -> str:
        return str(XERO_INTEGRATION_ID)

    def get_integrationKey(self, connection) -> str:
        return XERO_PLATFORM_KEY

    def get_sourceId(self, connection) -> str:
        return str(XERO_SOURCE_ID)

    def get_platformName(self, connection) -> str:
        return XERO_PLATFORM_NAME

    def get_linkUrl(self, connection) -> str:
        return connection.link_url()

    def get_lastSync(self, connection) -> str | None:
        return None

    def get_sourceType(self, connection) -> str:
        return "Accounting"

    def get_connectionInfo(self, connection) -> dict | None:
        if not connection.tenant_id:
            return None
        return {"tenantId": str(connection.tenant_id), "tenantName": connection.tenant_name}


class ConnectionCreateInput(serializers.Serializer):
    """create-connection's body (the field documents it; platform_key reads it). Codat's
    spec lists no 400 for it: a platformKey missing or not one of ours is a 404, the
    integration asked for is not here."""

    platformKey = serializers.CharField(min_length=4, max_length=4, help_text="`gbol` (Xero), the only one here.")

    @staticmethod
    def platform_key(data) -> str:
        key = data.get("platformKey") if isinstance(data, dict) else None
        if key not in PLATFORM_KEYS:
            known = ", ".join(f"{k} ({v})" for k, v in PLATFORM_KEYS.items())
            message = PLATFORM_UNKNOWN.format(key=repr(key) if isinstance(key, str) else "(none)", known=known)
            raise Refused(message, errors=[item(message, item_id="platformKey")], status=404)
        return key


class ConnectionUpdateInput(serializers.Serializer):
    """unlink-connection's body (the field documents it; check reads it): `status` Unlinked,
    or left out (Codat makes it optional), unlinks. Codat's spec lists no 400 for it: another
    status is a 403."""

    status = serializers.ChoiceField(choices=[ConnectionStatus.UNLINKED], required=False, allow_null=True)

    @staticmethod
    def check(data) -> None:
        if not isinstance(data, dict):
            raise Refused(REQUEST_INVALID, errors=[item(BODY_NOT_OBJECT)], status=403)
        if data.get("status") not in (None, ConnectionStatus.UNLINKED):
            raise Refused(REQUEST_INVALID, errors=[item(UNLINK_ONLY, item_id="status")], status=403)


@extend_schema_serializer(component_name="CompanyInformation")
class CompanyInformationOutput(serializers.Serializer):
    """Codat's company information, from the Xero organisation."""

    companyName = serializers.CharField(source="company_name")
    baseCurrency = serializers.CharField(source="base_currency")
    planType = serializers.CharField(source="plan_type", allow_null=True)
    multicurrencyEnabled = serializers.BooleanField(source="multicurrency_enabled")
    currencies = serializers.ListField(child=serializers.CharField())
