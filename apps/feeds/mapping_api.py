"""Account mapping operations of the partner API: the mapping options of every source
account, and mapping one to a Xero bank account (Codat's "custom build" mapping)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenants.api_errors import ApiError
from apps.tenants.idempotency import idempotent
from apps.xero_auth.api import xero_answer
from apps.xero_auth.selectors import connection_for_partner

from . import services

TAGS = ["Account mapping"]


class TargetAccountOptionSchema(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    sortCode = serializers.CharField(allow_null=True)
    accountNumber = serializers.CharField(allow_null=True)


class BankFeedMappingSchema(serializers.Serializer):
    sourceAccountId = serializers.CharField()
    sourceAccountName = serializers.CharField(required=False)
    sourceAccountNumber = serializers.CharField(required=False)
    sourceBalance = serializers.DecimalField(max_digits=19, decimal_places=4, required=False)
    sourceCurrency = serializers.CharField(required=False)
    targetAccountId = serializers.CharField(allow_null=True)
    targetAccountName = serializers.CharField(required=False)
    status = serializers.CharField()
    targetAccountOptions = TargetAccountOptionSchema(many=True, allow_null=True)
    feedStartDate = serializers.DateTimeField(allow_null=True)


class BankFeedAccountMappingInput(serializers.Serializer):
    """Codat's BankFeedAccountMapping. No targetAccountId: Xero creates a bank account
    named after the source account."""

    sourceAccountId = serializers.CharField()
    targetAccountId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    feedStartDate = serializers.CharField(required=False, allow_null=True,
                                          help_text="Date or date-time; within the last year, not in the future. "
                                                    "Default: today.")


class BankFeedAccountMappingResponseSchema(serializers.Serializer):
    sourceAccountId = serializers.CharField()
    targetAccountId = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="connected, connecting, or Failed.")
    error = serializers.CharField(allow_null=True)


class MappingView(APIView):
    @extend_schema(operation_id="get-bank-account-mapping", tags=TAGS, responses=BankFeedMappingSchema(many=True))
    def get(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        return Response(xero_answer(services.mapping_options, connection=connection))

    @extend_schema(operation_id="create-bank-account-mapping", tags=TAGS, request=BankFeedAccountMappingInput,
                   responses=BankFeedAccountMappingResponseSchema)
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        data = BankFeedAccountMappingInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        try:
            answer = xero_answer(
                services.mapping_create,
                connection=connection,
                source_account_id=body["sourceAccountId"],
                target_account_id=body.get("targetAccountId") or None,
                feed_start_date=services.parse_feed_start_date(body.get("feedStartDate")),
            )
        except services.MappingRefused as exc:
            raise ApiError(str(exc), errors=exc.errors)
        return Response(answer)


urlpatterns = [
    path("companies/<str:company_id>/connections/<str:connection_id>/bankFeedAccounts/mapping",
         MappingView.as_view(), name="bank-account-mapping"),
]
