"""The wire shapes of the feeds API: Codat's source accounts (v1 and v2), account mapping
and bank transaction pushes, read in and written out. The use cases below take and
return Python; this module alone knows Codat's field names.

Source account and mapping refusals itemise the field (`itemId`) without a validator
name, as they always have; the push names the transaction and the rule it broke."""

import re
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from apps.api.errors import validation_items
from apps.api.renderers import Prerendered
from apps.api.serializers import ClosedObjectSchema
from apps.core.money import FOUR_PLACES, as_decimal, beyond_money_limit
from apps.core.refusals import Refused

from . import statements
from .models import PushOperation, PushStatus, SourceAccountStatus
from .source_accounts import XERO_ACCOUNT_TYPES, SourceAccountDuplicate, SourceAccountRefused
from .statements import Checked, Transaction, rule_item

FIELD_REQUIRED = "{field} is required."
FIELD_NOT_TEXT = "{field} must be a string of at most {limit} characters."
FIELD_NOT_NUMBER = "{field} must be a number."
FIELD_NOT_OBJECT = "{field} must be an object."
FIELD_NOT_DATE = "{field} must be a date (YYYY-MM-DD)."
CURRENCY_INVALID = "currency must be a 3-letter ISO 4217 currency code, e.g. GBP."
SORT_CODE_REQUIRED = "sortCode is required for GBP accounts."
ACCOUNT_TYPE_INVALID = (
    "accountType must be one of checking, savings, creditCard, prepaidCard (v2) or Debit, Credit (v1)."
)
ACCOUNT_TYPE_NOT_FOR_XERO = (
    "Xero bank feeds carry bank accounts (checking, savings, prepaid card) and credit cards only; "
    "a {type} account cannot be fed to Xero."
)
ROUTING_TYPE_INVALID = "routingInfo.type must be one of: {types}."
UPDATE_ID_MISMATCH = "id must be the id of the account being updated ('{id}')."
BATCH_DUPLICATE = "A bank account already exists with the same Id ('{id}')."
BATCH_NOT_OBJECT = "Each source account must be a JSON object."
BATCH_EMPTY = "The request must be an array of 1 to {limit} source accounts."
BATCH_LIMIT = 1000
BODY_NOT_OBJECT = "The request body must be a JSON object with accountId and transactions."
REQUEST_INVALID = "The request made is not valid."
ID_TOO_LONG = "id may be at most {limit} characters long."
# Transaction ids are kept in a varchar(255) column.
MAX_TRANSACTION_ID_LENGTH = 255

V2_ACCOUNT_TYPES = ("checking", "savings", "loan", "creditCard", "prepaidCard")
V1_ACCOUNT_TYPES = ("Debit", "Credit")
V2_ONLY_FIELDS = ("routingInfo", "accountInfo")
SOURCE_ACCOUNT_STATUSES = SourceAccountStatus.choices
ROUTING_TYPES = ("rtn", "aba", "swift", "bsb", "iban", "nz2", "trno", "sortcode", "blz", "ifsc", "bankcode",
                 "apca", "clabe")
# ISO 4217 codes as Xero's Bank Feeds API lists them (CurrencyCode): a feed in any other
# currency could never be mapped.
ISO_CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GGP GHS GIP GMD GNF GTQ GYD HKD
HNL HRK HTG HUF IDR ILS IMP INR IQD IRR ISK JEP JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SPL SRD STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TVD TWD TZS UAH UGX USD UYU UZS VEF VND VUV WST XAF XCD XDR XOF XPF YER ZAR ZMW ZMK ZWD
""".split())


def _field_error(message) -> serializers.ValidationError:
    """An error naming its field but no validator (ErrorDetail without a code)."""
    return serializers.ValidationError(ErrorDetail(str(message), code=None))


def _parse_day(value) -> date | None:
    """A date from Codat's Date or DateTime string; a time's offset is ignored (local date)."""
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
        return moment.date() if moment else parse_date(value)
    except ValueError:
        return None


LOCAL_DATETIME_HELP = "Codat's DateTime: a day at midnight, unqualified local time (2025-01-31T00:00:00)."


def local_datetime(day) -> str | None:
    """A calendar date as Codat's DateTime: unqualified local time at midnight."""
    return f"{day.isoformat()}T00:00:00" if day else None


def _utc(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


# --- Fields that itemise by field ---------------------------------------------------------


class _ItemisedField(serializers.Field):
    """A strict field whose refusals carry our sentences, named by `label` (the field's
    name unless given), and no validator name."""

    default_error_messages = {"required": FIELD_REQUIRED, "null": FIELD_REQUIRED}

    def __init__(self, *, label=None, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", not kwargs["required"])
        # Whether null or "" counts as missing: kept apart from DRF's `required` (must be
        # sent), which an update turns off.
        self.needs_value = kwargs["required"]
        self.message_label = label
        super().__init__(**kwargs)

    def fail(self, key, **kwargs):
        raise _field_error(self.error_messages[key].format(field=self.message_label or self.field_name, **kwargs))


@extend_schema_field(OpenApiTypes.STR)
class TextField(_ItemisedField):
    default_error_messages = {"invalid": FIELD_NOT_TEXT}

    def __init__(self, *, limit=255, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if data == "" and self.needs_value:
            self.fail("required")
        if not isinstance(data, str) or len(data) > self.limit:
            self.fail("invalid", limit=self.limit)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.NUMBER)
class MoneyField(_ItemisedField):
    """A number (or numeric string) below 10^15, kept to 4 decimal places."""

    default_error_messages = {"invalid": FIELD_NOT_NUMBER}

    def to_internal_value(self, data):
        number = as_decimal(data)
        if number is None or beyond_money_limit(number):
            self.fail("invalid")
        return number.quantize(FOUR_PLACES)

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class AccountTypeField(_ItemisedField):
    """v2's types as sent; v1's Debit or Credit in any case, answered capitalised. A type
    Xero cannot feed (a loan) is refused."""

    default_error_messages = {"invalid": ACCOUNT_TYPE_INVALID, "not_for_xero": ACCOUNT_TYPE_NOT_FOR_XERO}

    def __init__(self, *, version, **kwargs):
        self.version = version
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if self.version == "v2":
            if data not in V2_ACCOUNT_TYPES:
                self.fail("invalid")
        elif not isinstance(data, str) or data.capitalize() not in V1_ACCOUNT_TYPES:
            self.fail("invalid")
        else:
            data = data.capitalize()
        if data not in XERO_ACCOUNT_TYPES:
            self.fail("not_for_xero", type=data)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(_ItemisedField):
    default_error_messages = {"invalid": CURRENCY_INVALID}

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in ISO_CURRENCIES:
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class _ObjectField(_ItemisedField):
    default_error_messages = {"invalid": FIELD_NOT_OBJECT}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        if not data:
            return data
        errors = {}
        value = self.read(data, errors)
        if errors:
            raise serializers.ValidationError({k: [ErrorDetail(v, code=None)] for k, v in errors.items()})
        return value

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.OBJECT)
class RoutingInfoField(_ObjectField):
    """Codat's routingInfo: a bank code and its type (bankcode when not given)."""

    def read(self, data, errors):
        routing = {"bankCode": data.get("bankCode"), "type": data.get("type") or "bankcode"}
        if routing["type"] not in ROUTING_TYPES:
            errors["type"] = ROUTING_TYPE_INVALID.format(types=", ".join(ROUTING_TYPES))
        if routing["bankCode"] is not None and not isinstance(routing["bankCode"], str):
            errors["bankCode"] = FIELD_NOT_TEXT.format(field="routingInfo.bankCode", limit=255)
        return routing


@extend_schema_field(OpenApiTypes.OBJECT)
class AccountInfoField(_ObjectField):
    """Codat's accountInfo, kept as sent (availableBalance as a number)."""

    def read(self, data, errors):
        info = {}
        for name, limit in (("description", 1000), ("nickname", 255)):
            value = data.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors[name] = FIELD_NOT_TEXT.format(field=name, limit=limit)
                value = None
            info[name] = value
        info["accountOpenDate"] = data.get("accountOpenDate")
        available = data.get("availableBalance")
        if available is not None:
            number = as_decimal(available)
            if number is None or beyond_money_limit(number):
                errors["availableBalance"] = FIELD_NOT_NUMBER.format(field="availableBalance")
                available = None
            else:
                available = float(number.quantize(FOUR_PLACES))
        info["availableBalance"] = available
        if info["accountOpenDate"] is not None and _calendar_date(info["accountOpenDate"]) is None:
            errors["accountOpenDate"] = FIELD_NOT_DATE.format(field="accountOpenDate")
        return info


def _calendar_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except ValueError:  # well formed, but not a day of the calendar (2024-02-30)
        return None


# --- Source accounts ------------------------------------------------------------------------


class SourceAccountV2Input(serializers.Serializer):
    """Codat's SourceAccountV2: `accountType` checking, savings, creditCard or prepaidCard
    (loan is refused: Xero feeds bank accounts and credit cards only)."""

    version = "v2"
    # In the order their problems are listed.
    id = TextField(required=True)
    accountName = TextField(required=True)
    accountNumber = TextField(required=True, limit=64)
    sortCode = TextField(limit=32, help_text="Required for GBP accounts.")
    balance = MoneyField(required=True)
    accountType = AccountTypeField(version="v2", required=True)
    currency = CurrencyField(required=True, help_text="ISO 4217 code, e.g. GBP.")
    routingInfo = RoutingInfoField()
    accountInfo = AccountInfoField()
    modifiedDate = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=SOURCE_ACCOUNT_STATUSES, read_only=True)
    feedStartDate = serializers.DateField(read_only=True, help_text="Only on connected accounts.")

    def to_internal_value(self, data):
        errors = {}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            values, errors = {}, dict(exc.detail)
        # Codat's Xero guide: a GBP account needs its sort code (listed after currency).
        if data.get("currency") == "GBP" and not data.get("sortCode") and "sortCode" not in errors:
            later = ("routingInfo", "accountInfo")
            errors = {**{k: v for k, v in errors.items() if k not in later},
                      "sortCode": [ErrorDetail(SORT_CODE_REQUIRED, code=None)],
                      **{k: v for k, v in errors.items() if k in later}}
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def fields_for_create(self) -> dict:
        """The keyword arguments of source_account_create."""
        v = self.validated_data
        fields = {
            "api_version": self.version,
            "account_id": v["id"],
            "account_name": v.get("accountName"),
            "account_type": v.get("accountType"),
            "account_number": v.get("accountNumber"),
            "sort_code": v.get("sortCode"),
            "currency": v.get("currency") or "",
            "balance": v.get("balance"),
        }
        if self.version == "v2":
            fields.update(routing_info=v.get("routingInfo"), account_info=v.get("accountInfo"))
        return fields


class SourceAccountV1Input(SourceAccountV2Input):
    """Codat's SourceAccount (v1): `accountType` Debit or Credit. Codat's schema requires
    only `id`; `currency` is required too, as Codat's Xero guide says (a feed to Xero needs
    one)."""

    version = "v1"
    routingInfo = None
    accountInfo = None
    accountName = TextField()
    accountType = AccountTypeField(version="v1")
    accountNumber = TextField(limit=64)
    balance = MoneyField()
    feedStartDate = serializers.DateTimeField(read_only=True, help_text="Only on connected accounts.")


def source_account_version(data, *, default: str | None = None) -> str:
    """'v1' or 'v2' for a create body: by accountType's value, else by v2-only fields, else
    the version of the connection's accounts (`default`)."""
    if not isinstance(data, dict):
        return default or "v2"
    account_type = data.get("accountType")
    if account_type in V2_ACCOUNT_TYPES:
        return "v2"
    if isinstance(account_type, str) and account_type.capitalize() in V1_ACCOUNT_TYPES:
        return "v1"
    if any(data.get(f) is not None for f in V2_ONLY_FIELDS):
        return "v2"
    if default:
        return default
    # No accountType at all is a valid v1 body (its accountType is optional).
    return "v1" if account_type is None else "v2"


def read_source_account(data, *, version: str | None = None) -> dict:
    """The keyword arguments of source_account_create for a create body in either
    version, or SourceAccountRefused listing every problem. A body that does not say its
    version is read in `version`, the one of the connection's accounts."""
    if not isinstance(data, dict):
        raise SourceAccountRefused(errors=[rule_item(None, BATCH_NOT_OBJECT, None)])
    version = source_account_version(data, default=version)
    serializer = (SourceAccountV2Input if version == "v2" else SourceAccountV1Input)(data=data)
    if not serializer.is_valid():
        raise SourceAccountRefused(errors=list(validation_items(serializer.errors)))
    return serializer.fields_for_create()


def read_source_account_batch(data, *, version: str | None = None) -> list:
    """Each item of a batch body read on its own: its create arguments, or its refusal.
    Items that do not say their version are read in the connection's (`version`), else in
    the first one read."""
    if not isinstance(data, list) or not 1 <= len(data) <= BATCH_LIMIT:
        raise SourceAccountRefused(errors=[rule_item(None, BATCH_EMPTY.format(limit=BATCH_LIMIT), None)])
    items = []
    for body in data:
        try:
            fields = read_source_account(body, version=version)
        except SourceAccountRefused as exc:
            items.append(exc)
            continue
        version = version or fields["api_version"]
        items.append(fields)
    return items


UPDATE_FIELD_FIXED = (
    "{field} cannot be changed: only accountName, status (to disconnected) and balance "
    "(while not connected) can be updated."
)
# Fields a partner may send back unchanged on update (Codat's SDK sends the whole account).
_FIXED_FIELDS = {
    "accountType": "account_type",
    "accountNumber": "account_number",
    "sortCode": "sort_code",
    "currency": "currency",
    "routingInfo": "routing_info",
    "accountInfo": "account_info",
}


def _same(sent, stored) -> bool:
    if isinstance(stored, Decimal) or isinstance(sent, (int, float, Decimal)) and not isinstance(sent, bool):
        number = as_decimal(sent)
        return stored is not None and number is not None and number == stored
    return (sent or None) == (stored or None)


class SourceAccountUpdateInput(serializers.Serializer):
    """Codat's update body for one account (the whole account may be sent back): the
    fields an update may change, read; the others must equal the account as stored."""

    id = TextField()
    accountName = TextField()
    balance = MoneyField()
    status = serializers.JSONField(required=False, allow_null=True)

    def __init__(self, instance, **kwargs):
        super().__init__(instance, **kwargs)
        v2 = instance.api_version == "v2"
        self.fields["accountName"] = TextField(required=v2)
        self.fields["balance"] = MoneyField(required=v2)
        for field in self.fields.values():
            field.required = False  # not sent means unchanged; a v2 null is still refused

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise SourceAccountRefused(errors=[rule_item(None, BATCH_NOT_OBJECT, None)])
        sa = self.instance
        errors = {}
        if "id" in data and data["id"] != sa.account_id:
            errors["id"] = UPDATE_ID_MISMATCH.format(id=sa.account_id)
        for field, attribute in _FIXED_FIELDS.items():
            if field in data and not _same(data[field], getattr(sa, attribute)):
                errors[field] = UPDATE_FIELD_FIXED.format(field=field)
        sent_start = data.get("feedStartDate")
        same_start = isinstance(sent_start, str) and _parse_day(sent_start) == sa.feed_start_date
        if sent_start is not None and not same_start:
            errors["feedStartDate"] = UPDATE_FIELD_FIXED.format(field="feedStartDate")
        errors = {k: [ErrorDetail(v, code=None)] for k, v in errors.items()}
        try:
            values = super().to_internal_value({k: v for k, v in data.items() if k != "id"})
        except serializers.ValidationError as exc:
            values = {}
            errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def changes(self) -> dict:
        """The keyword arguments of source_account_update."""
        v = self.validated_data
        changes = {}
        if "accountName" in v:
            changes["account_name"] = v["accountName"]
        if "balance" in v:
            changes["balance"] = v["balance"]
        if v.get("status") is not None:
            changes["status"] = v["status"]
        return changes


class SourceAccountOutput(serializers.BaseSerializer):
    """Codat's SourceAccountV2 or SourceAccount (v1), in the version the partner created it
    in (or `version`: update-source-account answers v1, as Codat's spec says). feedStartDate
    is only given while the account is connected."""

    version: str | None = None

    def to_representation(self, sa):
        body = {
            "id": sa.account_id,
            "accountName": sa.account_name,
            "accountType": sa.account_type,
            "accountNumber": sa.account_number,
            "sortCode": sa.sort_code,
            "currency": sa.currency,
            "balance": sa.balance,
            "modifiedDate": _utc(sa.modified_date),
            "status": sa.status,
        }
        v2 = (self.version or sa.api_version) == "v2"
        if v2:
            body["accountInfo"] = sa.account_info
            if sa.routing_info is not None:  # an object, not nullable, in Codat's schema
                body["routingInfo"] = sa.routing_info
        elif not sa.currency:
            del body["currency"]  # optional in v1, but not nullable; only an old account lacks it
        if sa.status == SourceAccountStatus.CONNECTED and sa.feed_start_date:
            # v2 types it as a date, v1 as Codat's DateTime.
            body["feedStartDate"] = sa.feed_start_date.isoformat() if v2 else local_datetime(sa.feed_start_date)
        return body


class SourceAccountV1Output(SourceAccountOutput):
    """Any source account in Codat's v1 shape (update-source-account's answer)."""

    version = "v1"


# What the answers look like, for the schema: Codat's closed SourceAccountV2 and
# SourceAccount, so that an account matches exactly one of them.


@extend_schema_serializer(component_name="RoutingInfo")
class RoutingInfoSchema(serializers.Serializer):
    bankCode = serializers.CharField(allow_null=True)
    type = serializers.ChoiceField(choices=ROUTING_TYPES, allow_null=True)


# Inline, not a component: OpenAPI 3.0 allows null for an object only beside its `type`.
ACCOUNT_INFO_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "description": {"type": "string", "nullable": True},
        "nickname": {"type": "string", "nullable": True},
        "accountOpenDate": {"type": "string", "format": "date", "nullable": True},
        "availableBalance": {"type": "number", "nullable": True},
    },
}


@extend_schema_field(ACCOUNT_INFO_SCHEMA)
class AccountInfoSchemaField(serializers.JSONField):
    pass


@extend_schema_serializer(component_name="SourceAccountV2")
class SourceAccountV2Schema(ClosedObjectSchema):
    """Codat's SourceAccountV2."""

    id = serializers.CharField()
    accountName = serializers.CharField()
    accountType = serializers.ChoiceField(choices=[t for t in V2_ACCOUNT_TYPES if t in XERO_ACCOUNT_TYPES])
    accountNumber = serializers.CharField()
    sortCode = serializers.CharField(allow_null=True)
    routingInfo = RoutingInfoSchema(required=False)
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. GBP.")
    balance = serializers.DecimalField(max_digits=19, decimal_places=4, coerce_to_string=False)
    accountInfo = AccountInfoSchemaField()
    modifiedDate = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=SOURCE_ACCOUNT_STATUSES)
    feedStartDate = serializers.DateField(required=False, help_text="Only while the account is connected.")


@extend_schema_serializer(component_name="SourceAccount")
class SourceAccountV1Schema(ClosedObjectSchema):
    """Codat's SourceAccount (v1). accountType is Debit or Credit for an account created in
    v1; update-source-account answers every account in this shape, with its own type."""

    id = serializers.CharField()
    accountName = serializers.CharField(allow_null=True)
    accountType = serializers.CharField(allow_null=True)
    accountNumber = serializers.CharField(allow_null=True)
    sortCode = serializers.CharField(allow_null=True)
    currency = serializers.CharField(required=False, help_text="ISO 4217 code, e.g. GBP.")
    balance = serializers.DecimalField(max_digits=19, decimal_places=4, coerce_to_string=False, allow_null=True)
    modifiedDate = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=SOURCE_ACCOUNT_STATUSES)
    feedStartDate = serializers.CharField(required=False, help_text=f"{LOCAL_DATETIME_HELP} Only while the account "
                                                                    "is connected.")


SOURCE_ACCOUNT = PolymorphicProxySerializer(
    component_name="SourceAccountAnyVersion",
    serializers=[SourceAccountV2Schema, SourceAccountV1Schema],
    resource_type_field_name=None,
)
# anyOf, not Codat's oneOf: an empty list is both.
SOURCE_ACCOUNT_LIST = {"anyOf": [{"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}
                                 for name in ("SourceAccountV2", "SourceAccount")]}
SOURCE_ACCOUNT_REQUEST = PolymorphicProxySerializer(
    component_name="SourceAccountAnyVersion",
    serializers=[SourceAccountV2Input, SourceAccountV1Input],
    resource_type_field_name=None,
)


@extend_schema_serializer(component_name="SourceAccountV2BatchCreateResult")
class BatchCreatedV2ResultSchema(serializers.Serializer):
    statusCode = serializers.IntegerField(help_text="201")
    error = serializers.CharField(allow_null=True)
    account = SourceAccountV2Schema()


@extend_schema_serializer(component_name="SourceAccountBatchCreateResult")
class BatchCreatedV1ResultSchema(serializers.Serializer):
    statusCode = serializers.IntegerField(help_text="201")
    error = serializers.CharField(allow_null=True)
    account = SourceAccountV1Schema()


@extend_schema_serializer(component_name="SourceAccountBatchErrorResult")
class BatchRefusedResultSchema(serializers.Serializer):
    statusCode = serializers.CharField(help_text='"400" or "409" (a string, as in Codat\'s schema).')
    error = serializers.CharField()


@extend_schema_serializer(component_name="SourceAccountV2BatchCreateResponse")
class BatchCreatedV2Schema(serializers.Serializer):
    """Codat's SourceAccountV2BatchCreateResponse."""

    sourceAccountId = serializers.CharField()
    result = BatchCreatedV2ResultSchema()


@extend_schema_serializer(component_name="SourceAccountBatchCreateResponse")
class BatchCreatedV1Schema(serializers.Serializer):
    """Codat's SourceAccountBatchCreateResponse."""

    sourceAccountId = serializers.CharField()
    result = BatchCreatedV1ResultSchema()


@extend_schema_serializer(component_name="SourceAccountBatchErrorResponse")
class BatchRefusedSchema(serializers.Serializer):
    """Codat's SourceAccountBatchErrorResponse. sourceAccountId is left out when the item
    had no id."""

    sourceAccountId = serializers.CharField(required=False)
    result = BatchRefusedResultSchema()


BATCH_ITEMS = PolymorphicProxySerializer(
    component_name="SourceAccountBatchItem",
    serializers=[BatchCreatedV2Schema, BatchCreatedV1Schema, BatchRefusedSchema],
    resource_type_field_name=None,
    many=True,
)
# drf-spectacular makes arrays of 2xx answers only: the 409's, written out.
BATCH_ITEMS_409 = {"type": "array", "items": {"$ref": "#/components/schemas/SourceAccountBatchItem"}}


def batch_answer(bodies: list, outcomes: list) -> tuple[int, list[dict]]:
    """Codat's batch answer: 201 all created, 409 all duplicates, else 207; one result per
    item, in order (Codat's SourceAccountBatchErrorResponse types statusCode as a string)."""
    results, statuses = [], []
    for body, outcome in zip(bodies, outcomes, strict=True):
        item_id = body.get("id") if isinstance(body, dict) else None
        head = {"sourceAccountId": item_id} if isinstance(item_id, str) else {}
        if isinstance(outcome, SourceAccountDuplicate):
            status, error = 409, BATCH_DUPLICATE.format(id=outcome.account_id)
        elif isinstance(outcome, SourceAccountRefused):
            status = 400
            error = "; ".join(f"{e['itemId']}: {e['message']}" if e["itemId"] else e["message"]
                              for e in outcome.errors)
        else:
            results.append({**head, "result": {"statusCode": 201, "error": None,
                                               "account": SourceAccountOutput(outcome).data}})
            statuses.append(201)
            continue
        results.append({**head, "result": {"statusCode": str(status), "error": error}})
        statuses.append(status)
    if all(s == 201 for s in statuses):
        return 201, results
    if all(s == 409 for s in statuses):
        return 409, results
    return 207, results


# --- Mapping --------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class LocalDateField(_ItemisedField):
    """Codat's Date or DateTime as a calendar date (a time's offset is ignored)."""

    default_error_messages = {"invalid": FIELD_NOT_DATE}

    def to_internal_value(self, data):
        day = _parse_day(data)
        if day is None:
            self.fail("invalid")
        return day

    def to_representation(self, value):
        return local_datetime(value)


class BankFeedAccountMappingInput(serializers.Serializer):
    """Codat's BankFeedAccountMapping. No targetAccountId: Xero creates a bank account
    named after the source account."""

    sourceAccountId = serializers.CharField(max_length=255)
    targetAccountId = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    feedStartDate = LocalDateField(help_text="Date or date-time; within the last year, not in the future. "
                                             "Default: today.")

    def mapping(self) -> dict:
        """The keyword arguments of mapping_create."""
        v = self.validated_data
        return {"source_account_id": v["sourceAccountId"], "target_account_id": v.get("targetAccountId") or None,
                "feed_start_date": v.get("feedStartDate")}


@extend_schema_serializer(component_name="TargetAccountOption")
class TargetAccountOptionSchema(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    sortCode = serializers.CharField(allow_null=True)
    accountNumber = serializers.CharField(allow_null=True)


@extend_schema_serializer(component_name="BankFeedMapping")
class BankFeedMappingOutput(serializers.Serializer):
    """Codat's BankFeedMapping: a source account with the Xero accounts it may go to."""

    sourceAccountId = serializers.CharField()
    sourceAccountName = serializers.CharField(required=False)
    sourceAccountNumber = serializers.CharField(required=False)
    sourceBalance = serializers.DecimalField(max_digits=19, decimal_places=4, required=False, coerce_to_string=False)
    sourceCurrency = serializers.CharField(required=False)
    targetAccountId = serializers.CharField(allow_null=True)
    targetAccountName = serializers.CharField(required=False)
    status = serializers.CharField()
    targetAccountOptions = TargetAccountOptionSchema(many=True, allow_null=True)
    feedStartDate = serializers.CharField(allow_null=True, help_text=LOCAL_DATETIME_HELP)

    def to_representation(self, option):
        sa, feed = option.source_account, option.feed
        mapping = {
            "sourceAccountId": sa.account_id,
            "sourceAccountName": sa.account_name,
            "sourceAccountNumber": sa.account_number,
            "sourceBalance": sa.balance,
            "sourceCurrency": sa.currency or None,
            "status": sa.status,
            "targetAccountId": str(feed.target_account_id) if feed and feed.target_account_id else None,
            "targetAccountName": feed.target_account_name or None if feed else None,
            "feedStartDate": local_datetime(sa.feed_start_date) if sa.status == SourceAccountStatus.CONNECTED
            else None,
            "targetAccountOptions": [{"id": a.account_id, "name": a.name, "sortCode": a.sort_code,
                                      "accountNumber": a.number} for a in option.targets],
        }
        # Codat's schema makes only targetAccountId, feedStartDate and the options nullable.
        nullable = ("targetAccountId", "feedStartDate", "targetAccountOptions")
        return {k: v for k, v in mapping.items() if v is not None or k in nullable}


MAPPING_FAILED = "Failed"  # Codat's status for a mapping Xero refused


@extend_schema_serializer(component_name="BankFeedAccountMappingResponse")
class BankFeedAccountMappingOutput(serializers.Serializer):
    """Codat's BankFeedAccountMappingResponse."""

    sourceAccountId = serializers.CharField()
    targetAccountId = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="connected, connecting, or Failed.")
    error = serializers.CharField(allow_null=True)

    def to_representation(self, result):
        return {"sourceAccountId": result.source_account_id,
                "targetAccountId": str(result.target_account_id) if result.target_account_id else None,
                "status": MAPPING_FAILED if result.failed else result.status, "error": result.error}


# --- Push -------------------------------------------------------------------------------------


def _local_datetime(value) -> datetime | None:
    """A local date-time: the wall-clock part as given, offset dropped."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None  # noqa: DTZ001 - local by design
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return parsed
    return parsed.replace(tzinfo=None)


def _money(value, name, item_id, errors):
    if value is None:
        errors.append(rule_item(item_id, f"{name} is required.", f"{name}Required"))
        return None
    number = as_decimal(value)
    if number is None:
        errors.append(rule_item(item_id, f"{name} must be a number.", f"{name}Number"))
        return None
    problem = statements.money_problem(number, name, item_id)
    if problem:
        errors.append(problem)
        return None
    return number


def _text(raw, key, item_id, errors):
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(rule_item(item_id, f"{key} must be a string.", f"{key}String"))
        return None
    problem = statements.length_problem(value, key, item_id)
    if problem:
        errors.append(problem)
    return value


def read_transactions(raw_transactions, *, today: date | None = None) -> Checked:
    """Codat's bank transactions read into Transactions, applying the push's field rules
    as each field is read and its batch rules once every line parsed. Hand-written, not
    DRF fields: a push carries up to a thousand lines and this runs on each of them.
    An id too long to store is not a push rule but a request that cannot be taken at all:
    Refused, before any operation records it."""
    checked = Checked()
    errors = checked.errors
    today = today or timezone.now().date()
    if not isinstance(raw_transactions, list) or not raw_transactions:
        errors.append(rule_item(None, "transactions must be a non-empty array.", "TransactionsRequired"))
        return checked
    too_many = statements.count_problem(len(raw_transactions))
    if too_many:
        errors.append(too_many)
        return checked

    seen = set()
    too_long = []
    for index, raw in enumerate(raw_transactions):
        if not isinstance(raw, dict):
            errors.append(rule_item(f"[{index}]", "Each transaction must be an object.", "TransactionObject"))
            continue
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not item_id.strip():
            errors.append(rule_item(f"[{index}]", "id is required for every transaction.", "IdRequired"))
            continue
        if len(item_id) > MAX_TRANSACTION_ID_LENGTH:
            too_long.append(rule_item(f"[{index}]", ID_TOO_LONG.format(limit=MAX_TRANSACTION_ID_LENGTH),
                                      "IdLength"))
            continue
        if item_id in seen:
            errors.append(statements.duplicate_id_problem(item_id))
        seen.add(item_id)
        when = _local_datetime(raw.get("date"))
        if when is None:
            errors.append(rule_item(item_id, "date is required as an ISO 8601 date or date-time.", "DateFormat"))
        else:
            problem = statements.date_problem(when, item_id, today=today)
            if problem:
                errors.append(problem)
        amount = _money(raw.get("amount"), "amount", item_id, errors)
        balance = _money(raw.get("balance"), "balance", item_id, errors)
        transaction_type = raw.get("transactionType")
        if transaction_type is not None and transaction_type not in statements.TRANSACTION_TYPES:
            errors.append(rule_item(item_id, "transactionType must be one of "
                                             f"{', '.join(sorted(statements.TRANSACTION_TYPES))}.", "TransactionType"))
        reconciled = raw.get("reconciled")
        if reconciled is not None and not isinstance(reconciled, bool):
            errors.append(rule_item(item_id, "reconciled must be true or false.", "ReconciledBoolean"))
        description = _text(raw, "description", item_id, errors)
        counterparty = _text(raw, "counterparty", item_id, errors)
        reference = _text(raw, "reference", item_id, errors)
        if when is None or amount is None or balance is None:
            continue
        # In field order, positionally: by keyword costs 0.7 µs a line more.
        checked.transactions.append(Transaction(item_id, when, amount, balance, description, counterparty, reference,
                                                reconciled, transaction_type))
    if too_long:
        raise Refused(REQUEST_INVALID, errors=too_long)
    if not errors:
        statements.check_batch(checked)
    return checked


_PUSH_OPTION_NOTES = {"type": "array", "items": {"type": "object", "properties": {
    "field": {"type": "string"}, "details": {"type": "string"}}}}
PUSH_OPTION_SCHEMA = {
    "type": "object",
    "description": "Codat's PushOption: a field of the push, its own fields under `properties`.",
    "required": ["type", "displayName", "description", "required"],
    "properties": {
        "type": {"type": "string", "enum": ["Object", "Array", "String", "Number", "Boolean", "DateTime"]},
        "displayName": {"type": "string"},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "properties": {"type": "object", "additionalProperties": {"type": "object"}},
        "options": {"type": "array", "items": {"type": "object"}},
        "validation": {"type": "object", "properties": {"warnings": _PUSH_OPTION_NOTES,
                                                        "information": _PUSH_OPTION_NOTES}},
    },
}


class CreateBankTransactionsInput(serializers.Serializer):
    """Codat's CreateBankTransactions (documents the body; read by read_transactions)."""

    accountId = serializers.CharField()
    transactions = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                         max_length=statements.MAX_TRANSACTIONS)


PUSH_STATUS_HELP = (
    "Pending: Xero took the statement (its 202, in statusCode) and delivers it shortly; the operation settles "
    "on its own (read it again to see). Success: delivered (statusCode 200). Failed: Xero refused the statement "
    "(statusCode is Xero's, the reasons are in validation.errors) or it could not be sent (429, 503); send the "
    "batch again. TimedOut: timeoutInMinutes passed without a final answer from Xero."
)
STATUS_CODE_HELP = ("Xero's HTTP status for the statement: 202 while Pending, 200 once Success, Xero's 4xx (or 429, "
                    "503) when Failed.")
VALIDATION_SCHEMA = {
    "type": "object",
    "properties": {kind: {"type": "array", "items": {"$ref": "#/components/schemas/ValidationItem"}}
                   for kind in ("errors", "warnings")},
}


@extend_schema_serializer(component_name="RecordRef")
class RecordRefSchema(serializers.Serializer):
    id = serializers.CharField()
    dataType = serializers.CharField()


@extend_schema_serializer(component_name="PushChange")
class PushChangeSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Created"])
    recordRef = RecordRefSchema()
    attachmentId = serializers.CharField(allow_null=True)


@extend_schema_serializer(component_name="PushedBankTransaction")
class PushedTransactionSchema(serializers.Serializer):
    id = serializers.CharField()
    date = serializers.CharField(help_text="Local date-time, as pushed.")
    description = serializers.CharField(allow_null=True)
    counterparty = serializers.CharField(allow_null=True)
    reference = serializers.CharField(allow_null=True)
    reconciled = serializers.BooleanField(allow_null=True)
    amount = serializers.FloatField()
    balance = serializers.FloatField()
    transactionType = serializers.CharField(allow_null=True)


@extend_schema_serializer(component_name="PushedData")
class PushedDataSchema(serializers.Serializer):
    accountId = serializers.CharField()
    transactions = PushedTransactionSchema(many=True)


@extend_schema_serializer(component_name="PushOperation")
class PushOperationOutput(serializers.ModelSerializer):
    """Codat's PushOperation."""

    changes = serializers.SerializerMethodField()
    dataType = serializers.CharField(source="data_type")
    companyId = serializers.UUIDField(source="company_id")
    pushOperationKey = serializers.UUIDField(source="push_operation_key")
    dataConnectionKey = serializers.UUIDField(source="connection_id")
    requestedOnUtc = serializers.DateTimeField(source="requested_on")
    completedOnUtc = serializers.DateTimeField(source="completed_on", required=False,
                                               help_text="Left out while the push is Pending (Codat's schema "
                                                         "does not allow null here).")
    timeoutInMinutes = serializers.IntegerField(source="timeout_in_minutes", allow_null=True)
    timeoutInSeconds = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=PushStatus.choices, help_text=PUSH_STATUS_HELP)
    errorMessage = serializers.CharField(source="error_message", allow_null=True)
    validation = serializers.SerializerMethodField()
    statusCode = serializers.IntegerField(source="status_code", help_text=STATUS_CODE_HELP)

    class Meta:
        model = PushOperation
        fields = ["changes", "dataType", "companyId", "pushOperationKey", "dataConnectionKey", "requestedOnUtc",
                  "completedOnUtc", "timeoutInMinutes", "timeoutInSeconds", "status", "errorMessage", "validation",
                  "statusCode"]

    @extend_schema_field(PushChangeSchema(many=True))
    def get_changes(self, operation):
        if operation.status != PushStatus.SUCCESS:
            return []
        return [{"type": "Created", "recordRef": {"id": t.transaction_id, "dataType": "bankTransactions"},
                 "attachmentId": None} for t in pushed_transactions(operation)]

    def get_timeoutInSeconds(self, operation) -> int | None:
        return operation.timeout_in_minutes * 60 if operation.timeout_in_minutes else None

    @extend_schema_field(VALIDATION_SCHEMA)
    def get_validation(self, operation):
        return {"errors": operation.errors, "warnings": operation.warnings}

    def to_representation(self, operation):
        # Written out: what DRF's field-by-field representation gives (tested against it),
        # without building thirteen fields for every push's answer.
        body = {
            "changes": self.get_changes(operation),
            "dataType": operation.data_type,
            "companyId": str(operation.company_id),
            "pushOperationKey": str(operation.push_operation_key),
            "dataConnectionKey": str(operation.connection_id),
            "requestedOnUtc": _DATETIME.to_representation(operation.requested_on),
            "completedOnUtc": (None if operation.completed_on is None
                               else _DATETIME.to_representation(operation.completed_on)),
            "timeoutInMinutes": operation.timeout_in_minutes,
            "timeoutInSeconds": self.get_timeoutInSeconds(operation),
            "status": str(operation.status),
            "errorMessage": operation.error_message,
            "validation": self.get_validation(operation),
            "statusCode": operation.status_code,
        }
        if body["completedOnUtc"] is None:
            del body["completedOnUtc"]
        return body


_DATETIME = serializers.DateTimeField()


def _local_isoformat(when: datetime) -> str:
    """A pushed date-time as the partner sent it: local, without an offset (read back from
    the database it is made aware in UTC; as a push checked it, it is naive already)."""
    return (when if when.tzinfo is None else when.replace(tzinfo=None)).isoformat()


def pushed_transactions(operation):
    """The operation's transactions: kept on it by the push that stored them (so a fresh
    push's answer reads none back), else prefetched or read once."""
    if not hasattr(operation, "_pushed"):
        operation._pushed = list(operation.transactions.all())
    return operation._pushed


@extend_schema_serializer(component_name="CreateBankTransactionsResponse")
class CreateBankTransactionsOutput(PushOperationOutput):
    """Codat's CreateBankTransactionsResponse: the operation plus the data pushed."""

    data = serializers.SerializerMethodField()

    class Meta(PushOperationOutput.Meta):
        fields = [*PushOperationOutput.Meta.fields, "data"]

    def to_representation(self, operation):
        return {**super().to_representation(operation), "data": self.get_data(operation)}

    @classmethod
    def write_data_ahead(cls, operation) -> None:
        """Write out the answer's `data` (the transactions pushed, whatever Xero answers)
        ahead of the rest: a push does it while Xero reads the statement (push.transactions_push)."""
        operation._data_written = Prerendered(cls._pushed_data(operation))

    @extend_schema_field(PushedDataSchema())
    def get_data(self, operation):
        written = getattr(operation, "_data_written", None)
        return written if written is not None else self._pushed_data(operation)

    @staticmethod
    def _pushed_data(operation) -> dict:
        return {
            "accountId": operation.account_id,
            "transactions": [
                {"id": t.transaction_id, "date": _local_isoformat(t.date), "description": t.description,
                 "counterparty": t.counterparty, "reference": t.reference, "reconciled": t.reconciled,
                 "amount": t.amount, "balance": t.balance, "transactionType": t.transaction_type}
                for t in pushed_transactions(operation)
            ],
        }


# ASCII digits only, as the spec's integer: not "١", "1_0", " 5" or "5\n"; few enough for int().
_DIGITS = re.compile(r"[0-9]{1,9}")


def read_timeout(raw, *, maximum: int) -> int | None:
    """timeoutInMinutes from the query string: None, or a whole number from 1 to `maximum`."""
    if raw is None:
        return None
    if not (_DIGITS.fullmatch(raw) and 1 <= int(raw) <= maximum):
        raise serializers.ValidationError(
            {"timeoutInMinutes": [ErrorDetail(f"timeoutInMinutes must be a whole number from 1 to {maximum}.",
                                              code=None)]})
    return int(raw)
