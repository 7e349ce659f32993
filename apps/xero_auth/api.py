"""Connections operations of the partner API, and company information from Xero."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenants.api import QUERY_PARAMETERS
from apps.tenants.api_errors import ApiError, validation_item
from apps.tenants.codat_query import Field, apply_query
from apps.tenants.idempotency import idempotent
from apps.tenants.paging import CodatPagination
from apps.tenants.selectors import company_for_partner

from . import client, services
from .models import XERO_INTEGRATION_ID, XERO_PLATFORM_KEY, XERO_PLATFORM_NAME, XERO_SOURCE_ID, ConnectionStatus
from .selectors import connection_for_partner

PLATFORM_KEYS = {XERO_PLATFORM_KEY: XERO_PLATFORM_NAME}
CONNECTION_FIELDS = {
    "id": Field("id"),
    "status": Field("status", "choice"),
    "created": Field("created", "datetime"),
    # platformName is always "Xero"; the organisation's name is in connectionInfo.
    "connectionInfo.tenantName": Field("tenant_name"),
}


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


def _refused(exc):
    return ApiError(str(exc), errors=[validation_item(str(exc))])


class ConnectionsView(APIView):
    @extend_schema(operation_id="list-connections", tags=["Connections"], parameters=QUERY_PARAMETERS,
                   responses=ConnectionOutput(many=True))
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        connections = apply_query(company.connections.all(), request, CONNECTION_FIELDS, "Connection", "-created")
        paginator = CodatPagination()
        page = paginator.paginate_queryset(connections, request, self)
        return paginator.get_paginated_response(ConnectionOutput(page, many=True).data)

    @extend_schema(operation_id="create-connection", tags=["Connections"], request=ConnectionCreateInput,
                   responses=ConnectionOutput)
    @idempotent
    def post(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        ConnectionCreateInput(data=request.data).is_valid(raise_exception=True)
        try:
            connection = services.connection_create(company=company)
        except services.ConnectionRefused as exc:
            raise _refused(exc)
        return Response(ConnectionOutput(connection).data)


class ConnectionView(APIView):
    @extend_schema(operation_id="get-connection", tags=["Connections"], responses=ConnectionOutput)
    def get(self, request, company_id, connection_id):
        return Response(ConnectionOutput(connection_for_partner(request.user, company_id, connection_id)).data)

    @extend_schema(operation_id="unlink-connection", tags=["Connections"], request=ConnectionUpdateInput,
                   responses=ConnectionOutput)
    @idempotent
    def patch(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        ConnectionUpdateInput(data=request.data).is_valid(raise_exception=True)
        try:
            services.connection_unlink(connection=connection)
        except client.XeroUnavailable as exc:
            raise ApiError(f"Xero could not be reached to revoke access: {exc}", status_code=503, can_be_retried=True)
        return Response(ConnectionOutput(connection).data)

    @extend_schema(operation_id="delete-connection", tags=["Connections"], responses={200: None})
    def delete(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        try:
            services.connection_delete(connection=connection)
        except client.XeroUnavailable as exc:
            raise ApiError(f"Xero could not be reached to revoke access: {exc}", status_code=503, can_be_retried=True)
        return Response(status=200)


class CompanyInformationOutput(serializers.Serializer):
    companyName = serializers.CharField()
    baseCurrency = serializers.CharField()
    planType = serializers.CharField(allow_null=True)
    multicurrencyEnabled = serializers.BooleanField()
    currencies = serializers.ListField(child=serializers.CharField())


class CompanyInformationView(APIView):
    @extend_schema(operation_id="get-company-information", tags=["Company information"],
                   responses=CompanyInformationOutput)
    def get(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        return Response(xero_answer(services.company_information, connection=connection))


def xero_answer(service, **kwargs):
    """Run a service that calls Xero, turning Xero's and the connection's refusals into
    the partner API's ErrorMessage."""
    try:
        return service(**kwargs)
    except services.ConnectionNotLinked as exc:
        raise ApiError(str(exc), status_code=400, can_be_retried=False)
    except client.XeroRateLimited as exc:
        raise ApiError("Xero's rate limit for this organisation was reached; retry later.", status_code=429,
                       headers={"Retry-After": str(exc.retry_after)}, can_be_retried=True)
    except client.XeroUnavailable as exc:
        raise ApiError(f"Xero is unavailable: {exc}", status_code=503, can_be_retried=True)
    except client.XeroError as exc:
        raise ApiError(f"Xero refused the request: {exc}", status_code=400, can_be_retried=False)


urlpatterns = [
    path("companies/<str:company_id>/connections", ConnectionsView.as_view(), name="connections"),
    path("companies/<str:company_id>/connections/<str:connection_id>", ConnectionView.as_view(), name="connection"),
    path("companies/<str:company_id>/connections/<str:connection_id>/bankFeeds/info",
         CompanyInformationView.as_view(), name="company-information"),
]
