"""The wire shapes of the connections API: Codat's Connection and company information."""

from rest_framework import serializers

from .models import XERO_INTEGRATION_ID, XERO_PLATFORM_KEY, XERO_PLATFORM_NAME, XERO_SOURCE_ID, ConnectionStatus

PLATFORM_KEYS = {XERO_PLATFORM_KEY: XERO_PLATFORM_NAME}


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
    platformKey = serializers.CharField()

    def validate_platformKey(self, value):
        if value not in PLATFORM_KEYS:
            known = ", ".join(f"{k} ({v})" for k, v in PLATFORM_KEYS.items())
            raise serializers.ValidationError(f"Unknown platformKey {value!r}; available platform keys: {known}")
        return value


class ConnectionUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[ConnectionStatus.UNLINKED])


class CompanyInformationOutput(serializers.Serializer):
    """Codat's company information, from the Xero organisation."""

    companyName = serializers.CharField(source="company_name")
    baseCurrency = serializers.CharField(source="base_currency")
    planType = serializers.CharField(source="plan_type", allow_null=True)
    multicurrencyEnabled = serializers.BooleanField(source="multicurrency_enabled")
    currencies = serializers.ListField(child=serializers.CharField())
