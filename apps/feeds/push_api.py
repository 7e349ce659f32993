"""Bank transaction push operations of the partner API: create bank transactions, its
create-model, and reading push operations."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenants.api import QUERY_PARAMETERS
from apps.tenants.api_errors import ApiError, validation_item
from apps.tenants.codat_query import Field, apply_query
from apps.tenants.idempotency import idempotent
from apps.tenants.paging import CodatPagination
from apps.tenants.selectors import company_for_partner, owned_or_404
from apps.xero_auth.selectors import connection_for_partner

from . import push, statements
from .models import PushOperation, PushStatus

# A push completes inside its request; the partner's timeout is recorded, a week at most.
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
PUSH_FIELDS = {
    "pushOperationKey": Field("push_operation_key"),
    "status": Field("status", "choice"),
    "dataType": Field("data_type", "choice"),
    "requestedOnUtc": Field("requested_on", "datetime"),
    "completedOnUtc": Field("completed_on", "datetime"),
    "statusCode": Field("status_code", "decimal"),
    "dataConnectionKey": Field("connection_id"),
}


class ValidationItem(serializers.Serializer):
    itemId = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    validatorName = serializers.CharField(allow_null=True)


class PushOperationOutput(serializers.ModelSerializer):
    """Codat's PushOperation."""

    changes = serializers.SerializerMethodField()
    dataType = serializers.CharField(source="data_type")
    companyId = serializers.UUIDField(source="company_id")
    pushOperationKey = serializers.UUIDField(source="push_operation_key")
    dataConnectionKey = serializers.UUIDField(source="connection_id")
    requestedOnUtc = serializers.DateTimeField(source="requested_on")
    completedOnUtc = serializers.DateTimeField(source="completed_on", allow_null=True)
    timeoutInMinutes = serializers.IntegerField(source="timeout_in_minutes", allow_null=True)
    timeoutInSeconds = serializers.SerializerMethodField()
    errorMessage = serializers.CharField(source="error_message", allow_null=True)
    validation = serializers.SerializerMethodField()
    statusCode = serializers.IntegerField(source="status_code")

    class Meta:
        model = PushOperation
        fields = ["changes", "dataType", "companyId", "pushOperationKey", "dataConnectionKey", "requestedOnUtc",
                  "completedOnUtc", "timeoutInMinutes", "timeoutInSeconds", "status", "errorMessage", "validation",
                  "statusCode"]

    def get_changes(self, operation) -> list[dict] | None:
        if operation.status != PushStatus.SUCCESS:
            return []
        return [{"type": "Created", "recordRef": {"id": t.transaction_id, "dataType": "bankTransactions"},
                 "attachmentId": None} for t in _transactions(operation)]

    def get_timeoutInSeconds(self, operation) -> int | None:
        return operation.timeout_in_minutes * 60 if operation.timeout_in_minutes else None

    def get_validation(self, operation) -> dict:
        return {"errors": operation.validation.get("errors", []), "warnings": operation.validation.get("warnings", [])}


def push_operation_for_partner(partner, company_id, key) -> PushOperation:
    """The partner's company's push operation, or the same 404 for anything else."""
    company = company_for_partner(partner, company_id)
    return owned_or_404(company.push_operations.select_related("connection", "source_account"), key,
                        "Push operation")


def _transactions(operation):
    # Prefetched on reads; a fresh push caches them once for changes and data.
    if not hasattr(operation, "_pushed"):
        operation._pushed = list(operation.transactions.all())
    return operation._pushed


class CreateBankTransactionsOutput(PushOperationOutput):
    """Codat's CreateBankTransactionsResponse: the operation plus the data pushed."""

    data = serializers.SerializerMethodField()

    class Meta(PushOperationOutput.Meta):
        fields = [*PushOperationOutput.Meta.fields, "data"]

    def get_data(self, operation) -> dict:
        return {
            "accountId": operation.account_id,
            "transactions": [
                {"id": t.transaction_id, "date": t.date.replace(tzinfo=None).isoformat(), "description": t.description,
                 "counterparty": t.counterparty, "reference": t.reference, "reconciled": t.reconciled,
                 "amount": float(t.amount), "balance": float(t.balance), "transactionType": t.transaction_type}
                for t in _transactions(operation)
            ],
        }


class CreateBankTransactionsInput(serializers.Serializer):
    accountId = serializers.CharField()
    transactions = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                         max_length=statements.MAX_TRANSACTIONS)


def _refused(operation, status, retry_after=None):
    return ApiError(
        operation.error_message, status_code=status, errors=operation.validation.get("errors"),
        warnings=operation.validation.get("warnings"), can_be_retried=status in (409, 429) or status >= 500,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
        correlation_id=str(operation.push_operation_key),
    )


class BankTransactionsPushView(APIView):
    @extend_schema(operation_id="create-bank-transactions", tags=["Transactions"], request=CreateBankTransactionsInput,
                   responses=CreateBankTransactionsOutput,
                   parameters=[OpenApiParameter("timeoutInMinutes", int),
                               OpenApiParameter("allowSyncOnPushComplete", bool)])
    @idempotent
    def post(self, request, company_id, connection_id, account_id):
        connection = connection_for_partner(request.user, company_id, connection_id)
        if not isinstance(request.data, dict):
            raise ApiError("The request body must be a JSON object with accountId and transactions.")
        timeout = request.query_params.get("timeoutInMinutes")
        if timeout is not None and not (timeout.isdigit() and 1 <= int(timeout) <= MAX_TIMEOUT_MINUTES):
            message = f"timeoutInMinutes must be a whole number from 1 to {MAX_TIMEOUT_MINUTES}."
            raise ApiError("The request made is not valid.",
                           errors=[validation_item(message, item_id="timeoutInMinutes")])
        try:
            operation = push.transactions_push(
                company=connection.company, connection=connection, account_id=account_id, data=request.data,
                timeout_in_minutes=int(timeout) if timeout else None)
        except push.PushRefused as exc:
            raise _refused(exc.operation, 400)
        except push.PushInterrupted as exc:
            raise _refused(exc.operation, exc.status, exc.retry_after)
        except TimeoutError as exc:
            raise ApiError(str(exc), status_code=503, can_be_retried=True, headers={"Retry-After": "5"})
        return Response(CreateBankTransactionsOutput(operation).data)


class BankTransactionsModelView(APIView):
    @extend_schema(operation_id="get-create-bank-transactions-model", tags=["Transactions"],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, company_id, connection_id, account_id):
        connection_for_partner(request.user, company_id, connection_id)
        return Response(CREATE_MODEL)


class PushOperationsView(APIView):
    @extend_schema(operation_id="list-create-operations", tags=["Transactions"], parameters=QUERY_PARAMETERS,
                   responses=PushOperationOutput(many=True))
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        operations = apply_query(company.push_operations.all(), request, PUSH_FIELDS, "PushOperation",
                                 "-requested_on").prefetch_related("transactions")
        paginator = CodatPagination()
        page = paginator.paginate_queryset(operations, request, self)
        for operation in page:
            operation._pushed = list(operation.transactions.all())
        return paginator.get_paginated_response(PushOperationOutput(page, many=True).data)


class PushOperationView(APIView):
    @extend_schema(operation_id="get-create-operation", tags=["Transactions"], responses=PushOperationOutput)
    def get(self, request, company_id, push_operation_key):
        operation = push_operation_for_partner(request.user, company_id, push_operation_key)
        operation = push.statement_status_refresh(operation=operation)
        return Response(PushOperationOutput(operation).data)


def _property(display, description, type_="String", required=False, **extra):
    return {"type": type_, "displayName": display, "description": description, "required": required, **extra}


CREATE_MODEL = {
    "type": "Object",
    "displayName": "Bank transactions",
    "description": "A batch of bank transactions for one source account, written to Xero as one bank statement.",
    "required": True,
    "properties": {
        "accountId": _property("Account ID", "The source account's id; must equal the account in the path.",
                               required=True),
        "transactions": {
            "type": "Array",
            "displayName": "Transactions",
            "description": f"1 to {statements.MAX_TRANSACTIONS} transactions in date order.",
            "required": True,
            "properties": {
                "id": _property("ID", "Unique per account; Xero uses it for duplicate detection.", required=True),
                "date": _property("Date", "Local date or date-time (an offset is ignored); not in the future and "
                                          "not more than a year old.", "DateTime", required=True),
                "amount": _property("Amount", "Positive for money in, negative for money out; at most 4 decimal "
                                              "places.", "Number", required=True),
                "balance": _property("Balance", "The account balance after this transaction; required by Xero.",
                                     "Number", required=True),
                "description": _property("Description", "At most 2000 characters."),
                "counterparty": _property("Counterparty", "Becomes Xero's payee; at most 255 characters."),
                "reference": _property("Reference", "At most 255 characters."),
                "reconciled": _property("Reconciled", "Kept; not sent to Xero.", "Boolean"),
                "transactionType": _property("Transaction type", "One of Codat's bank transaction types.",
                                             options=[{"value": v, "type": "String", "displayName": v,
                                                       "required": False}
                                                      for v in sorted(statements.TRANSACTION_TYPES)]),
            },
        },
    },
    "validation": {
        "warnings": [
            {"field": "transactions.balance", "details": "The last balance must equal the first balance plus the "
                                                         "later amounts; a break in between is only a warning."},
            {"field": "transactions.amount", "details": "A sign that contradicts transactionType is a warning."},
        ],
        "information": [
            {"field": "transactions", "details": "Each push becomes one Xero statement; the start balance is the "
                                                 "first balance minus the first amount."},
        ],
    },
}

urlpatterns = [
    path("companies/<str:company_id>/connections/<str:connection_id>/push/bankAccounts/<str:account_id>/"
         "bankTransactions", BankTransactionsPushView.as_view(), name="bank-transactions-push"),
    path("companies/<str:company_id>/connections/<str:connection_id>/options/bankAccounts/<str:account_id>/"
         "bankTransactions", BankTransactionsModelView.as_view(), name="bank-transactions-model"),
    path("companies/<str:company_id>/push", PushOperationsView.as_view(), name="push-operations"),
    path("companies/<str:company_id>/push/<str:push_operation_key>", PushOperationView.as_view(),
         name="push-operation"),
]
