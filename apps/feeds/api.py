"""The feeds part of the partner API: source accounts (Codat's create, batch create,
list, update, delete), account mapping, and bank transaction pushes with their push
operations. Views stay thin: the serializers read and write Codat's shapes, the use
cases do the work."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query
from apps.core.refusals import Refused
from apps.tenants.selectors import company_for_partner
from apps.xero_auth.selectors import connection_for_partner

from . import mapping, push, selectors, source_accounts, statements
from .serializers import (
    BODY_NOT_OBJECT,
    SOURCE_ACCOUNT,
    SOURCE_ACCOUNTS,
    BankFeedAccountMappingInput,
    BankFeedAccountMappingOutput,
    BankFeedMappingOutput,
    BatchItemSchema,
    CreateBankTransactionsInput,
    CreateBankTransactionsOutput,
    PushOperationOutput,
    SourceAccountOutput,
    SourceAccountUpdateInput,
    SourceAccountV1Input,
    SourceAccountV2Input,
    batch_answer,
    read_source_account,
    read_source_account_batch,
    read_timeout,
    read_transactions,
)

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
SOURCE_ACCOUNT_TAGS = ["Source accounts"]
MAPPING_TAGS = ["Account mapping"]
PUSH_TAGS = ["Transactions"]


def _connection(request, company_id, connection_id):
    return connection_for_partner(request.user, company_id, connection_id)


# --- Source accounts ------------------------------------------------------------------------


class SourceAccountsView(APIView):
    @extend_schema(operation_id="list-source-accounts", tags=SOURCE_ACCOUNT_TAGS, responses=SOURCE_ACCOUNTS)
    def get(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        # A bare array, not a page: Codat's list-source-accounts is not paged.
        return Response(SourceAccountOutput(selectors.source_accounts_of(connection=connection), many=True).data)

    @extend_schema(operation_id="create-source-account", tags=SOURCE_ACCOUNT_TAGS, request=SOURCE_ACCOUNT,
                   responses=SOURCE_ACCOUNT)
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        account = source_accounts.source_account_create(connection=connection, **read_source_account(request.data))
        return Response(SourceAccountOutput(account).data)


class SourceAccountsBatchView(APIView):
    @extend_schema(operation_id="create-batch-source-account", tags=SOURCE_ACCOUNT_TAGS,
                   request=SourceAccountV2Input(many=True),
                   responses={201: BatchItemSchema(many=True), 207: BatchItemSchema(many=True),
                              409: BatchItemSchema(many=True)})
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        outcomes = source_accounts.source_accounts_batch_create(connection=connection,
                                                                items=read_source_account_batch(request.data))
        status, results = batch_answer(request.data, outcomes)
        return Response(results, status=status)


class SourceAccountView(APIView):
    @extend_schema(operation_id="update-source-account", tags=SOURCE_ACCOUNT_TAGS, request=SourceAccountV1Input,
                   responses=SOURCE_ACCOUNT)
    @idempotent
    def patch(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        update = SourceAccountUpdateInput(account, data=request.data)
        update.is_valid(raise_exception=True)
        account = source_accounts.source_account_update(source_account=account, **update.changes())
        return Response(SourceAccountOutput(account).data)

    @extend_schema(operation_id="delete-source-account", tags=SOURCE_ACCOUNT_TAGS, responses={204: None})
    def delete(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        source_accounts.source_account_delete(source_account=account)
        return Response(status=204)


# --- Mapping ----------------------------------------------------------------------------------


class MappingView(APIView):
    @extend_schema(operation_id="get-bank-account-mapping", tags=MAPPING_TAGS,
                   responses=BankFeedMappingOutput(many=True))
    def get(self, request, company_id, connection_id):
        options = mapping.mapping_options(connection=_connection(request, company_id, connection_id))
        return Response(BankFeedMappingOutput(options, many=True).data)

    @extend_schema(operation_id="create-bank-account-mapping", tags=MAPPING_TAGS, request=BankFeedAccountMappingInput,
                   responses=BankFeedAccountMappingOutput)
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        body = BankFeedAccountMappingInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = mapping.mapping_create(connection=connection, **body.mapping())
        return Response(BankFeedAccountMappingOutput(result).data)


# --- Push -------------------------------------------------------------------------------------


class BankTransactionsPushView(APIView):
    @extend_schema(operation_id="create-bank-transactions", tags=PUSH_TAGS, request=CreateBankTransactionsInput,
                   responses=CreateBankTransactionsOutput,
                   parameters=[OpenApiParameter("timeoutInMinutes", int),
                               OpenApiParameter("allowSyncOnPushComplete", bool)])
    @idempotent
    def post(self, request, company_id, connection_id, account_id):
        connection = _connection(request, company_id, connection_id)
        if not isinstance(request.data, dict):
            raise Refused(BODY_NOT_OBJECT)
        timeout = read_timeout(request.query_params.get("timeoutInMinutes"), maximum=MAX_TIMEOUT_MINUTES)
        operation = push.transactions_push(
            company=connection.company, connection=connection, account_id=account_id,
            body_account_id=request.data.get("accountId"), checked=read_transactions(request.data.get("transactions")),
            timeout_in_minutes=timeout)
        return Response(CreateBankTransactionsOutput(operation).data)


class BankTransactionsModelView(APIView):
    @extend_schema(operation_id="get-create-bank-transactions-model", tags=PUSH_TAGS,
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, company_id, connection_id, account_id):
        connection_for_partner(request.user, company_id, connection_id)
        return Response(CREATE_MODEL)


class PushOperationsView(APIView):
    @extend_schema(operation_id="list-create-operations", tags=PUSH_TAGS, parameters=QUERY_PARAMETERS,
                   responses=PushOperationOutput(many=True))
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        operations = apply_query(company.push_operations.all(), request, PUSH_FIELDS, "PushOperation",
                                 "-requested_on").prefetch_related("transactions")
        paginator = CodatPagination()
        page = paginator.paginate_queryset(operations, request, self)
        push.push_settle_many(operations=page)
        for operation in page:
            operation._pushed = list(operation.transactions.all())
        return paginator.get_paginated_response(PushOperationOutput(page, many=True).data)


class PushOperationView(APIView):
    @extend_schema(operation_id="get-create-operation", tags=PUSH_TAGS, responses=PushOperationOutput)
    def get(self, request, company_id, push_operation_key):
        operation = selectors.push_operation_for_partner(request.user, company_id, push_operation_key)
        operation = push.push_settle(operation=operation)
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

SOURCE_ACCOUNTS_PATH = "companies/<str:company_id>/connections/<str:connection_id>/connectionInfo/bankFeedAccounts"
urlpatterns = [
    path(SOURCE_ACCOUNTS_PATH, SourceAccountsView.as_view(), name="source-accounts"),
    # Before the <account_id> route, which would otherwise take "batch" as an id.
    path(f"{SOURCE_ACCOUNTS_PATH}/batch", SourceAccountsBatchView.as_view(), name="source-accounts-batch"),
    path(f"{SOURCE_ACCOUNTS_PATH}/<str:account_id>", SourceAccountView.as_view(), name="source-account"),
    path("companies/<str:company_id>/connections/<str:connection_id>/bankFeedAccounts/mapping",
         MappingView.as_view(), name="bank-account-mapping"),
    path("companies/<str:company_id>/connections/<str:connection_id>/push/bankAccounts/<str:account_id>/"
         "bankTransactions", BankTransactionsPushView.as_view(), name="bank-transactions-push"),
    path("companies/<str:company_id>/connections/<str:connection_id>/options/bankAccounts/<str:account_id>/"
         "bankTransactions", BankTransactionsModelView.as_view(), name="bank-transactions-model"),
    path("companies/<str:company_id>/push", PushOperationsView.as_view(), name="push-operations"),
    path("companies/<str:company_id>/push/<str:push_operation_key>", PushOperationView.as_view(),
         name="push-operation"),
]
