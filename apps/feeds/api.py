"""The feeds part of the partner API: source accounts (Codat's create, batch create,
list, update, delete), account mapping, and bank transaction pushes with their push
operations. Views stay thin: the serializers read and write Codat's shapes, the use
cases do the work."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query
from apps.api.schema import ERROR_EXAMPLE, error_answers
from apps.core.refusals import Refused
from apps.tenants.selectors import company_for_partner
from apps.xero_auth.selectors import connection_for_partner

from . import mapping, push, selectors, source_accounts, statements
from .serializers import (
    BATCH_ITEMS,
    BATCH_ITEMS_409,
    BODY_NOT_OBJECT,
    PUSH_OPTION_SCHEMA,
    SOURCE_ACCOUNT,
    SOURCE_ACCOUNT_LIST,
    SOURCE_ACCOUNT_REQUEST,
    BankFeedAccountMappingInput,
    BankFeedAccountMappingOutput,
    BankFeedMappingOutput,
    CreateBankTransactionsInput,
    CreateBankTransactionsOutput,
    PushOperationOutput,
    SourceAccountOutput,
    SourceAccountUpdateInput,
    SourceAccountV1Input,
    SourceAccountV1Output,
    SourceAccountV1Schema,
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
ONE_VERSION = ("A connection's source accounts are all v2 or all v1 (the first one created decides): a body in the "
               "other version is a 400 that says which version the connection uses. A v1 body needs `currency`.")
V2_EXAMPLE = {"id": "acc-001", "accountName": "Business Current", "accountType": "checking",
              "accountNumber": "12345670", "sortCode": "40-00-00", "routingInfo": {"bankCode": "400000",
                                                                                   "type": "sortcode"},
              "currency": "GBP", "balance": 99.99, "accountInfo": {"description": "Main account", "nickname": "main",
                                                                  "accountOpenDate": "2023-05-06",
                                                                  "availableBalance": 10}}
V1_EXAMPLE = {"id": "acc-002", "accountName": "Card", "sortCode": "123456", "accountType": "Credit",
              "accountNumber": "4242424242424242", "currency": "GBP", "balance": 99.99}
SOURCE_ACCOUNT_EXAMPLES = [
    OpenApiExample("Version 2", value=V2_EXAMPLE, request_only=True),
    OpenApiExample("Version 1", value=V1_EXAMPLE, request_only=True),
    OpenApiExample("Created (v2)", response_only=True, status_codes=["200"], value={
        **V2_EXAMPLE, "modifiedDate": "2025-01-09T14:14:14.105747Z", "status": "pending"}),
    ERROR_EXAMPLE,
]
PUSH_EXAMPLE_KEY = "5f3b2c1a-7d4e-4f6a-9b8c-0d1e2f3a4b5c"
PUSH_ANSWER = {"changes": [], "dataType": "bankTransactions", "companyId": "9c1b6e42-3d4f-4b8a-a1e2-7f6d5c4b3a21",
               "pushOperationKey": PUSH_EXAMPLE_KEY, "dataConnectionKey": "2e9d2c44-f675-40ba-8049-353bfcb5e171",
               "requestedOnUtc": "2025-01-09T14:14:14.105747Z", "timeoutInMinutes": None,
               "timeoutInSeconds": None, "errorMessage": None, "validation": {"errors": [], "warnings": []}}
PUSH_TRANSACTION = {"id": "716422529", "date": "2025-01-08T10:21:00", "description": "Card payment",
                    "counterparty": "Coffee Supplies Ltd", "reference": "REF-1", "reconciled": False,
                    "amount": -12.5, "balance": 987.5, "transactionType": "Debit"}
PUSH_EXAMPLES = [
    OpenApiExample("A batch", request_only=True, value={"accountId": "acc-001", "transactions": [PUSH_TRANSACTION]}),
    OpenApiExample("Pending: Xero took it", response_only=True, status_codes=["200"], value={
        **PUSH_ANSWER, "status": "Pending", "statusCode": 202,
        "data": {"accountId": "acc-001", "transactions": [PUSH_TRANSACTION]}}),
    OpenApiExample("Failed: Xero refused it", response_only=True, status_codes=["200"], value={
        **PUSH_ANSWER, "status": "Failed", "statusCode": 400, "completedOnUtc": "2025-01-09T14:14:15.000000Z",
        "errorMessage": "The statement overlaps one already delivered.",
        "validation": {"errors": [{"itemId": None, "message": "The statement overlaps one already delivered.",
                                   "validatorName": "invalid-statement"}], "warnings": []},
        "data": {"accountId": "acc-001", "transactions": [PUSH_TRANSACTION]}}),
    OpenApiExample("Refused before Xero", response_only=True, status_codes=["400"], value={
        "statusCode": 400, "service": "PublicApi", "error": "Source account acc-9 does not exist on this connection.",
        "correlationId": PUSH_EXAMPLE_KEY, "canBeRetried": "False", "detailedErrorCode": 0,
        "validation": {"errors": [{"itemId": "acc-9", "message": "Source account acc-9 does not exist on this "
                                                                 "connection.", "validatorName": "SourceAccount"}],
                       "warnings": []}}),
]


def _connection(request, company_id, connection_id):
    return connection_for_partner(request.user, company_id, connection_id)


# --- Source accounts ------------------------------------------------------------------------


class SourceAccountsView(APIView):
    @extend_schema(
        operation_id="list-source-accounts", tags=SOURCE_ACCOUNT_TAGS, summary="List source accounts",
        description="The connection's source accounts, oldest first, each in the version it was created in "
                    "(all v2 or all v1). Not paged: a bare array, as Codat's.",
        responses={200: OpenApiResponse(SOURCE_ACCOUNT_LIST, "Every source account."), **error_answers(404)})
    def get(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        return Response(SourceAccountOutput(selectors.source_accounts_of(connection=connection), many=True).data)

    @extend_schema(
        operation_id="create-source-account", tags=SOURCE_ACCOUNT_TAGS, summary="Create a source account",
        description="A source account (the partner's bank account), `pending` until it is mapped to a Xero bank "
                    f"account. {ONE_VERSION} Xero feeds bank accounts and credit cards: a v2 `loan` is refused; a "
                    "GBP account needs its `sortCode`; `currency` must be one Xero's Bank Feeds API knows. An `id` "
                    "already used on the connection is a 400.",
        request=SOURCE_ACCOUNT_REQUEST, examples=SOURCE_ACCOUNT_EXAMPLES,
        responses={200: SOURCE_ACCOUNT, **error_answers(400, 404)})
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        version = selectors.source_accounts_version(connection=connection)
        account = source_accounts.source_account_create(connection=connection,
                                                        **read_source_account(request.data, version=version))
        return Response(SourceAccountOutput(account).data)


class SourceAccountsBatchView(APIView):
    @extend_schema(
        operation_id="create-batch-source-account", tags=SOURCE_ACCOUNT_TAGS, summary="Create source accounts",
        description="1 to 1000 source accounts, each created on its own (as create-source-account) and answered "
                    "in order: 201 when every one was created, 409 when every one was a duplicate id, else 207. "
                    f"{ONE_VERSION} A body that is not such an array is a 400.",
        request=SourceAccountV2Input(many=True),
        responses={201: OpenApiResponse(BATCH_ITEMS, "Every account was created."),
                   207: OpenApiResponse(BATCH_ITEMS, "Some were created, some refused (each item says)."),
                   409: OpenApiResponse(BATCH_ITEMS_409, "Every account's id was already used on the connection."),
                   **error_answers(400, 404)})
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        version = selectors.source_accounts_version(connection=connection)
        outcomes = source_accounts.source_accounts_batch_create(
            connection=connection, items=read_source_account_batch(request.data, version=version))
        status, results = batch_answer(request.data, outcomes)
        return Response(results, status=status)


class SourceAccountView(APIView):
    @extend_schema(
        operation_id="update-source-account", tags=SOURCE_ACCOUNT_TAGS, summary="Update a source account",
        description="Change `accountName`; `status`, only to `disconnected` (the feed stops at Xero; the Xero "
                    "account and what was delivered stay); `balance`, only while the account is not connected. The "
                    "whole account may be sent back: other fields must equal the account as stored (a 400 names "
                    "the field). The answer is Codat's v1 SourceAccount, as Codat's spec says, whatever the "
                    "account's version (list-source-accounts answers it in its own).",
        request=SourceAccountV1Input,
        responses={200: SourceAccountV1Schema, **error_answers(400, 404, 503)})
    @idempotent
    def patch(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        update = SourceAccountUpdateInput(account, data=request.data)
        update.is_valid(raise_exception=True)
        account = source_accounts.source_account_update(source_account=account, **update.changes())
        return Response(SourceAccountV1Output(account).data)

    @extend_schema(
        operation_id="delete-source-account", tags=SOURCE_ACCOUNT_TAGS, summary="Delete a source account",
        description="Removes the source account and its mapping; an active feed is first deleted at Xero (the "
                    "Xero bank account and what was delivered to it stay).",
        responses={204: None, **error_answers(404, 503)})
    def delete(self, request, company_id, connection_id, account_id):
        account = selectors.source_account_get(connection=_connection(request, company_id, connection_id),
                                               account_id=account_id)
        source_accounts.source_account_delete(source_account=account)
        return Response(status=204)


# --- Mapping ----------------------------------------------------------------------------------


class MappingView(APIView):
    @extend_schema(
        operation_id="get-bank-account-mapping", tags=MAPPING_TAGS, summary="List bank feed account mappings",
        description="Each source account with the Xero bank accounts it may be mapped to (same currency, same "
                    "kind: bank or credit card, not fed already) and its current target. Asks Xero: the "
                    "connection must be Linked, else a 403 (Codat's spec lists no 400 for this operation).",
        responses={200: BankFeedMappingOutput(many=True),
                   **error_answers((403, "The connection is not Linked: the company must connect Xero."), 404, 503)})
    def get(self, request, company_id, connection_id):
        options = mapping.mapping_options(connection=_connection(request, company_id, connection_id))
        return Response(BankFeedMappingOutput(options, many=True).data)

    @extend_schema(
        operation_id="create-bank-account-mapping", tags=MAPPING_TAGS, summary="Map a source account to Xero",
        description="Maps a source account to a Xero bank account (`targetAccountId`, one of its "
                    "targetAccountOptions), or without one to a new Xero bank account named after it, from "
                    "`feedStartDate` (within the last year; default today). The answer's `status` is `connected`, "
                    "`connecting` while Xero has the feed pending, or `Failed` with Xero's reason in `error` (a "
                    "200: the request was fine, Xero said no). A bad request or a connection that is not Linked "
                    "is a 400.",
        request=BankFeedAccountMappingInput,
        examples=[OpenApiExample("To an existing Xero account", request_only=True,
                                 value={"sourceAccountId": "acc-001",
                                        "targetAccountId": "d3b8f6a2-1c4e-4a5b-9f8e-7d6c5b4a3f21",
                                        "feedStartDate": "2025-01-01"}),
                  OpenApiExample("To a new Xero account", request_only=True, value={"sourceAccountId": "acc-001"})],
        responses={200: BankFeedAccountMappingOutput, **error_answers(400, 404, 503)})
    @idempotent
    def post(self, request, company_id, connection_id):
        connection = _connection(request, company_id, connection_id)
        body = BankFeedAccountMappingInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = mapping.mapping_create(connection=connection, **body.mapping())
        return Response(BankFeedAccountMappingOutput(result).data)


# --- Push -------------------------------------------------------------------------------------


class BankTransactionsPushView(APIView):
    @extend_schema(
        operation_id="create-bank-transactions", tags=PUSH_TAGS, summary="Push bank transactions",
        description="Up to 1000 transactions of one connected source account, in date order, dated within the "
                    "last year and not in the future, each with its balance: written to Xero as one bank statement "
                    "inside this request. The answer is the push operation: `Pending` once Xero took the "
                    "statement (Xero's 202 in `statusCode`; it settles to `Success` without being asked), "
                    "`Success` when Xero says it is delivered, `Failed` when Xero refused it (Xero's reasons in "
                    "`validation.errors`). A batch refused before anything reached Xero is a 400 ErrorMessage "
                    "whose `correlationId` is the Failed operation's pushOperationKey; Xero's rate limit is a 429 "
                    "with Retry-After, Xero unreachable a 503: send the same batch again, it is never delivered "
                    "twice. `timeoutInMinutes` (1 to 10080) is recorded: a push not settled by then is `TimedOut`.",
        request=CreateBankTransactionsInput, examples=PUSH_EXAMPLES,
        parameters=[OpenApiParameter("timeoutInMinutes", int, description="Minutes the operation may stay Pending."),
                    OpenApiParameter("allowSyncOnPushComplete", bool, description="Accepted and ignored: there is "
                                                                                  "no sync here.")],
        responses={200: CreateBankTransactionsOutput,
                   **error_answers((400, "Refused before reaching Xero (the Failed operation's key is the "
                                         "correlationId)."), 404, 503)})
    @idempotent
    def post(self, request, company_id, connection_id, account_id):
        connection = _connection(request, company_id, connection_id)
        if not isinstance(request.data, dict):
            raise Refused(BODY_NOT_OBJECT)
        timeout = read_timeout(request.query_params.get("timeoutInMinutes"), maximum=MAX_TIMEOUT_MINUTES)
        operation = push.transactions_push(
            company=connection.company, connection=connection, account_id=account_id,
            body_account_id=request.data.get("accountId"), checked=read_transactions(request.data.get("transactions")),
            timeout_in_minutes=timeout, while_xero_reads=CreateBankTransactionsOutput.write_data_ahead)
        return Response(CreateBankTransactionsOutput(operation).data)


class BankTransactionsModelView(APIView):
    @extend_schema(
        operation_id="get-create-bank-transactions-model", tags=PUSH_TAGS,
        summary="What a push of bank transactions takes",
        description="Codat's push option model for create-bank-transactions: the fields, which are required, "
                    "their limits, and the rules that only warn.",
        responses={200: OpenApiResponse(PUSH_OPTION_SCHEMA, "Codat's PushOption."), **error_answers(404)})
    def get(self, request, company_id, connection_id, account_id):
        connection_for_partner(request.user, company_id, connection_id)
        return Response(CREATE_MODEL)


class PushOperationsView(APIView):
    pagination_class = CodatPagination

    @extend_schema(
        operation_id="list-create-operations", tags=PUSH_TAGS, summary="List push operations",
        description="The company's pushes, newest first, paged. `query` and `orderBy` take pushOperationKey, "
                    "status, dataType, requestedOnUtc, completedOnUtc, statusCode, dataConnectionKey. A Pending "
                    "operation is shown as last recorded: get-create-operation asks Xero again.",
        parameters=QUERY_PARAMETERS, responses={200: PushOperationOutput(many=True), **error_answers(400, 404)})
    def get(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        operations = apply_query(company.push_operations.all(), request, PUSH_FIELDS, "PushOperation",
                                 "-requested_on").prefetch_related("transactions")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(operations, request, self)
        push.push_settle_many(operations=page)
        for operation in page:
            operation._pushed = list(operation.transactions.all())
        return paginator.get_paginated_response(PushOperationOutput(page, many=True).data)


class PushOperationView(APIView):
    @extend_schema(
        operation_id="get-create-operation", tags=PUSH_TAGS, summary="Get a push operation",
        description="One push: a Pending one asks Xero again first, so it may come back Success (or Failed when "
                    "Xero did not keep the statement; its transactions may then be pushed again).",
        responses={200: PushOperationOutput, **error_answers(404)})
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
