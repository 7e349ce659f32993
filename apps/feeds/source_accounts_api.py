"""Source accounts operations of the partner API (Codat's create, batch create, list,
update, delete). Bodies are validated by the services, which both the API and the
portal call, so the serializers here describe the schema for the docs only."""

from django.urls import path
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenants.api_errors import ApiError
from apps.tenants.idempotency import idempotent
from apps.xero_auth.api import xero_answer
from apps.xero_auth.selectors import connection_for_partner

from . import selectors, services

TAGS = ["Source accounts"]


class RoutingInfoSchema(serializers.Serializer):
    bankCode = serializers.CharField(allow_null=True, required=False)
    type = serializers.ChoiceField(choices=services.ROUTING_TYPES, allow_null=True, required=False)


class AccountInfoSchema(serializers.Serializer):
    description = serializers.CharField(allow_null=True, required=False)
    nickname = serializers.CharField(allow_null=True, required=False)
    accountOpenDate = serializers.DateField(allow_null=True, required=False)
    availableBalance = serializers.DecimalField(max_digits=19, decimal_places=4, allow_null=True, required=False)


class SourceAccountV2Schema(serializers.Serializer):
    """Codat's SourceAccountV2: `accountType` checking, savings, creditCard or prepaidCard
    (loan is refused: Xero feeds bank accounts and credit cards only)."""

    id = serializers.CharField()
    accountName = serializers.CharField()
    accountType = serializers.ChoiceField(choices=services.V2_ACCOUNT_TYPES)
    accountNumber = serializers.CharField()
    sortCode = serializers.CharField(allow_null=True, required=False, help_text="Required for GBP accounts.")
    routingInfo = RoutingInfoSchema(required=False)
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. GBP.")
    balance = serializers.DecimalField(max_digits=19, decimal_places=4)
    accountInfo = AccountInfoSchema(allow_null=True, required=False)
    modifiedDate = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=["pending", "connected", "connecting", "disconnected", "unknown"],
                                     read_only=True)
    feedStartDate = serializers.DateField(read_only=True, help_text="Only on connected accounts.")


class SourceAccountV1Schema(serializers.Serializer):
    """Codat's SourceAccount (v1): `accountType` Debit or Credit; only `id` is required."""

    id = serializers.CharField()
    accountName = serializers.CharField(allow_null=True, required=False)
    accountType = serializers.ChoiceField(choices=services.V1_ACCOUNT_TYPES, allow_null=True, required=False)
    accountNumber = serializers.CharField(allow_null=True, required=False)
    sortCode = serializers.CharField(allow_null=True, required=False, help_text="Required for GBP accounts.")
    currency = serializers.CharField(required=False)
    balance = serializers.DecimalField(max_digits=19, decimal_places=4, allow_null=True, required=False)
    modifiedDate = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=["pending", "connected", "connecting", "disconnected", "unknown"],
                                     read_only=True)
    feedStartDate = serializers.DateTimeField(read_only=True, help_text="Only on connected accounts.")


SOURCE_ACCOUNT = PolymorphicProxySerializer(
    component_name="SourceAccountAnyVersion",
    serializers=[SourceAccountV2Schema, SourceAccountV1Schema],
    resource_type_field_name=None,
)

SOURCE_ACCOUNTS = PolymorphicProxySerializer(
    component_name="SourceAccountAnyVersion",
    serializers=[SourceAccountV2Schema, SourceAccountV1Schema],
    resource_type_field_name=None,
    many=True,
)


class BatchResultSchema(serializers.Serializer):
    statusCode = serializers.CharField(help_text="201 when created (a number); \"409\" or \"400\" when not.")
    error = serializers.CharField(allow_null=True)
    account = SourceAccountV2Schema(required=False)


class BatchItemSchema(serializers.Serializer):
    sourceAccountId = serializers.CharField()
    result = BatchResultSchema()


def _refused(exc):
    return ApiError(str(exc), errors=exc.errors)


def _connection(request, company_id, connection_id):
    return connection_for_partner(request.user, company_id, connection_id)


class SourceAccountsView(APIView):
    @extend_schema(operation_id="list-source-accounts", tags=TAGS, responses=SOURCE_ACCOUNTS)
    def get(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        # A bare array, not a page: Codat's list-source-accounts is not paged.
        return Response([selectors.source_account_body(sa) for sa in selectors.source_accounts_of(
            connection=connection)])

    @extend_schema(operation_id="create-source-account", tags=TAGS, request=SOURCE_ACCOUNT,
                   responses=SOURCE_ACCOUNT)
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        try:
            account = services.source_account_create(connection=connection, data=request.data,
                                                     api_version=services.source_account_version(request.data))
        except services.SourceAccountRefused as exc:
            raise _refused(exc)
        return Response(selectors.source_account_body(account))


class SourceAccountsBatchView(APIView):
    @extend_schema(operation_id="create-batch-source-account", tags=TAGS, request=SourceAccountV2Schema(many=True),
                   responses={201: BatchItemSchema(many=True), 207: BatchItemSchema(many=True),
                              409: BatchItemSchema(many=True)})
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        try:
            status, results = services.source_accounts_batch_create(connection=connection, items=request.data)
        except services.SourceAccountRefused as exc:
            raise _refused(exc)
        return Response(results, status=status)


class SourceAccountView(APIView):
    @extend_schema(operation_id="update-source-account", tags=TAGS, request=SourceAccountV1Schema,
                   responses=SOURCE_ACCOUNT)
    @idempotent
    def patch(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        try:
            account = xero_answer(services.source_account_update, source_account=account, data=request.data)
        except services.SourceAccountRefused as exc:
            raise _refused(exc)
        return Response(selectors.source_account_body(account))

    @extend_schema(operation_id="delete-source-account", tags=TAGS, responses={204: None})
    def delete(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        xero_answer(services.source_account_delete, source_account=account)
        return Response(status=204)


BASE = "companies/<str:company_id>/connections/<str:connection_id>/connectionInfo/bankFeedAccounts"
urlpatterns = [
    path(BASE, SourceAccountsView.as_view(), name="source-accounts"),
    # Before the <account_id> route, which would otherwise take "batch" as an id.
    path(f"{BASE}/batch", SourceAccountsBatchView.as_view(), name="source-accounts-batch"),
    path(f"{BASE}/<str:account_id>", SourceAccountView.as_view(), name="source-account"),
]
