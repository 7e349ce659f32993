"""Connections operations of the partner API, company information from Xero, and how the
partner API answers Xero's failures (registered with the API kit's exception handler)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.errors import translate
from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query
from apps.core.refusals import Refused
from apps.tenants.selectors import company_for_partner

from . import client, connections
from .selectors import connection_for_partner
from .serializers import CompanyInformationOutput, ConnectionCreateInput, ConnectionOutput, ConnectionUpdateInput

CONNECTION_FIELDS = {
    "id": Field("id"),
    "status": Field("status", "choice"),
    "created": Field("created", "datetime"),
    # platformName is always "Xero"; the organisation's name is in connectionInfo.
    "connectionInfo.tenantName": Field("tenant_name"),
}
XERO_RATE_LIMITED = "Xero's rate limit for this organisation was reached; retry later."
XERO_UNAVAILABLE = "Xero is unavailable: {reason}"
XERO_REFUSED = "Xero refused the request: {reason}"


@translate(client.XeroRateLimited)
def _rate_limited(exc):
    return Refused(XERO_RATE_LIMITED, status=429, retry_after=exc.retry_after, can_be_retried=True)


@translate(client.XeroUnavailable)
def _unavailable(exc):
    return Refused(XERO_UNAVAILABLE.format(reason=exc), status=503, can_be_retried=True)


@translate(client.XeroError)
def _refused_by_xero(exc):
    return Refused(XERO_REFUSED.format(reason=exc), can_be_retried=False)


class ConnectionsView(APIView):
    @extend_schema(operation_id="list-connections", tags=["Connections"], parameters=QUERY_PARAMETERS,
                   responses=ConnectionOutput(many=True))
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        found = apply_query(company.connections.all(), request, CONNECTION_FIELDS, "Connection", "-created")
        paginator = CodatPagination()
        page = paginator.paginate_queryset(found, request, self)
        return paginator.get_paginated_response(ConnectionOutput(page, many=True).data)

    @extend_schema(operation_id="create-connection", tags=["Connections"], request=ConnectionCreateInput,
                   responses=ConnectionOutput)
    @idempotent
    def post(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        ConnectionCreateInput(data=request.data).is_valid(raise_exception=True)
        return Response(ConnectionOutput(connections.connection_create(company=company)).data)


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
        return Response(ConnectionOutput(connections.connection_unlink(connection=connection)).data)

    @extend_schema(operation_id="delete-connection", tags=["Connections"], responses={200: None})
    def delete(self, request, company_id, connection_id):
        connections.connection_delete(connection=connection_for_partner(request.user, company_id, connection_id))
        return Response(status=200)


class CompanyInformationView(APIView):
    @extend_schema(operation_id="get-company-information", tags=["Company information"],
                   responses=CompanyInformationOutput)
    def get(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        return Response(CompanyInformationOutput(connections.company_information(connection=connection)).data)


urlpatterns = [
    path("companies/<str:company_id>/connections", ConnectionsView.as_view(), name="connections"),
    path("companies/<str:company_id>/connections/<str:connection_id>", ConnectionView.as_view(), name="connection"),
    path("companies/<str:company_id>/connections/<str:connection_id>/bankFeeds/info",
         CompanyInformationView.as_view(), name="company-information"),
]
