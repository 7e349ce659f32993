"""Connections operations of the partner API, company information from Xero, and how the
partner API answers Xero's failures (registered with the API kit's exception handler)."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.errors import translate
from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query
from apps.api.schema import error_answers
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
    pagination_class = CodatPagination

    @extend_schema(
        operation_id="list-connections", tags=["Connections"], summary="List connections",
        description="The company's data connections (one Xero connection at most), paged. `query` and `orderBy` "
                    "take id, status, created and connectionInfo.tenantName.",
        parameters=QUERY_PARAMETERS, responses={200: ConnectionOutput(many=True), **error_answers(400, 404)})
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        found = apply_query(company.connections.all(), request, CONNECTION_FIELDS, "Connection", "-created")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(found, request, self)
        return paginator.get_paginated_response(ConnectionOutput(page, many=True).data)

    @extend_schema(
        operation_id="create-connection", tags=["Connections"], summary="Create a Xero connection",
        description="`platformKey: gbol` (Xero, the only integration here) gives the company a `PendingAuth` "
                    "connection whose `linkUrl` the SMB opens to connect its Xero organisation. A company links one "
                    "Xero organisation at a time: when it has a connection already, the answer is that connection "
                    "(whatever its status; its linkUrl connects it again). A platformKey missing or not `gbol` is a "
                    "404 (Codat's spec lists no 400 for this operation).",
        request=ConnectionCreateInput,
        examples=[OpenApiExample("Xero", value={"platformKey": "gbol"}, request_only=True)],
        responses={200: ConnectionOutput,
                   **error_answers((404, "The company, or the integration of that platformKey, is not here."))})
    @idempotent
    def post(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        ConnectionCreateInput.platform_key(request.data)
        return Response(ConnectionOutput(connections.connection_create(company=company)).data)


class ConnectionView(APIView):
    @extend_schema(
        operation_id="get-connection", tags=["Connections"], summary="Get a connection",
        description="One connection; once Linked, `connectionInfo` names the Xero organisation.",
        responses={200: ConnectionOutput, **error_answers(404)})
    def get(self, request, company_id, connection_id):
        return Response(ConnectionOutput(connection_for_partner(request.user, company_id, connection_id)).data)

    @extend_schema(
        operation_id="unlink-connection", tags=["Connections"], summary="Unlink a connection",
        description="Revokes the Xero access and keeps the connection, its source accounts and its history, so "
                    "the company can link again through its linkUrl. A body without `status` unlinks too (Codat "
                    "makes it optional); any other status is a 403 (Codat's spec lists no 400 for this operation). "
                    "Xero unreachable to revoke is a 503 and nothing changes.",
        request=ConnectionUpdateInput,
        examples=[OpenApiExample("Unlink", value={"status": "Unlinked"}, request_only=True)],
        responses={200: ConnectionOutput,
                   **error_answers((403, "A status other than Unlinked was asked for."), 404, 503)})
    @idempotent
    def patch(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        ConnectionUpdateInput.check(request.data)
        return Response(ConnectionOutput(connections.connection_unlink(connection=connection)).data)

    @extend_schema(
        operation_id="delete-connection", tags=["Connections"], summary="Delete a connection",
        description="Revokes the Xero access and removes the connection with everything under it; Xero "
                    "unreachable to revoke is a 503 and nothing is deleted. Answers 200 without a body, as "
                    "Codat's.",
        responses={200: OpenApiResponse(description="Deleted (no body)."), **error_answers(404, 503)})
    def delete(self, request, company_id, connection_id):
        connections.connection_delete(connection=connection_for_partner(request.user, company_id, connection_id))
        return Response(status=200)


class CompanyInformationView(APIView):
    @extend_schema(
        operation_id="get-company-information", tags=["Company information"], summary="Get company information",
        description="What Xero says of the connected organisation: name, base currency, whether it is "
                    "multi-currency, and its currencies. The connection must be Linked, else a 400; Xero's rate "
                    "limit is a 429, Xero unreachable a 503.",
        responses={200: CompanyInformationOutput, **error_answers(400, 404, 503)})
    def get(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        return Response(CompanyInformationOutput(connections.company_information(connection=connection)).data)


urlpatterns = [
    path("companies/<str:company_id>/connections", ConnectionsView.as_view(), name="connections"),
    path("companies/<str:company_id>/connections/<str:connection_id>", ConnectionView.as_view(), name="connection"),
    path("companies/<str:company_id>/connections/<str:connection_id>/bankFeeds/info",
         CompanyInformationView.as_view(), name="company-information"),
]
