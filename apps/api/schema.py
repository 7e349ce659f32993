"""This server's own OpenAPI document (drf-spectacular): Codat's path parameter names, the
ErrorMessage answers each operation gives (`error_answers` in its extend_schema, plus
those every operation can give), and Idempotency-Key on every POST and PATCH."""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

ERROR_MESSAGE_REF = {"$ref": "#/components/schemas/ErrorMessage"}
ERROR_MESSAGE = {
    "type": "object",
    "description": "Codat's ErrorMessage: every refusal and failure of the partner API.",
    "required": ["statusCode", "service", "error", "correlationId", "canBeRetried", "detailedErrorCode"],
    "properties": {
        "statusCode": {"type": "integer", "description": "The HTTP status of the answer."},
        "service": {"type": "string", "enum": ["PublicApi"]},
        "error": {"type": "string", "description": "What went wrong, in a sentence."},
        "correlationId": {"type": "string", "description": "Quote it to support. A refused push's is its "
                                                           "pushOperationKey."},
        "validation": {
            "type": "object",
            "description": "Itemised problems, when there are some.",
            "properties": {
                kind: {"type": "array", "items": {"$ref": "#/components/schemas/ValidationItem"}}
                for kind in ("errors", "warnings")
            },
        },
        "canBeRetried": {"type": "string", "enum": ["True", "False"],
                         "description": "Whether the same request may succeed later (a string, as in Codat's)."},
        "detailedErrorCode": {"type": "integer"},
    },
}
VALIDATION_ITEM = {
    "type": "object",
    "properties": {
        "itemId": {"type": "string", "nullable": True, "description": "The field or item the problem is about."},
        "message": {"type": "string"},
        "validatorName": {"type": "string", "nullable": True, "description": "The rule broken, when named."},
    },
}
ERROR_DESCRIPTIONS = {
    400: "The request made is not valid.",
    "unreadable": "The request cannot be read: a NUL character in its path or query, a body that is not JSON, a "
                  "malformed Idempotency-Key.",
    401: "Your API request was not properly authorized.",
    403: "The request is not allowed (where Codat's spec lists no 400 for the operation).",
    404: "One or more of the resources you referenced could not be found.",
    409: "A request with this Idempotency-Key is still being processed; retry shortly.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Too many requests were made in a given amount of time.",
    500: "There is a problem with our server.",
    503: "A service this operation needs (Xero) is unavailable; retry later.",
}
# What any operation may answer: a request that cannot be read, a missing or wrong key, our
# rate limit, a fault of ours.
EVERY_OPERATION = (400, 401, 429, 500)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Send the same request again with the same key (for 24 hours) and the first answer is replayed "
                "(with `Idempotent-Replayed: true`); the same key with another request is a 422, and while the "
                "first is still running a 409.")


class CodatAutoSchema(AutoSchema):
    """Documents Idempotency-Key on exactly the operations whose handler honours it
    (apps/api/idempotency.idempotent)."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        handler = getattr(self.view, self.method.lower(), None)
        if getattr(handler, "honours_idempotency_key", False):
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters


def _honours_idempotency_key(operation) -> bool:
    return any(p.get("name") == "Idempotency-Key" and p.get("in") == "header" for p in operation.get("parameters", []))
ERROR_EXAMPLE = OpenApiExample(
    "A refusal", response_only=True, status_codes=["400"],
    value={"statusCode": 400, "service": "PublicApi", "error": "The request made is not valid.",
           "correlationId": "8e3fb8a1a3b14c1a9b6c0f1d2e3a4b5c",
           "validation": {"errors": [{"itemId": "currency", "message": "currency is required.",
                                      "validatorName": None}], "warnings": []},
           "canBeRetried": "False", "detailedErrorCode": 0})


def error_answers(*statuses) -> dict:
    """ErrorMessage answers for an operation's extend_schema(responses=...): each status an
    int (its usual description) or a (status, description) pair."""
    answers = {}
    for status in statuses:
        code, description = status if isinstance(status, tuple) else (status, ERROR_DESCRIPTIONS[status])
        answers[code] = OpenApiResponse(ERROR_MESSAGE_REF, description=description)
    return answers


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _error_content():
    return {"application/json": {"schema": ERROR_MESSAGE_REF}}


def add_error_messages(result, generator, request, public):
    """Postprocessing hook: Codat's path parameter names (companyId, not company_id), the
    ErrorMessage answers every operation can give, and where Idempotency-Key is honoured
    its 409 and 422 (beside a 409 the operation documents itself, as batch does)."""
    paths = {}
    for path, item in result.get("paths", {}).items():
        paths[re.sub(r"{(\w+)}", lambda m: "{" + _camel(m.group(1)) + "}", path)] = item
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["name"] = _camel(parameter["name"])
    result["paths"] = paths
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorMessage"] = ERROR_MESSAGE
    schemas["ValidationItem"] = VALIDATION_ITEM
    for item in paths.values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            statuses = list(EVERY_OPERATION)
            if _honours_idempotency_key(operation):
                statuses += [409, 422]
            for status in statuses:
                description = ERROR_DESCRIPTIONS["unreadable" if status == 400 else status]
                answer = responses.setdefault(str(status), {"description": description, "content": _error_content()})
                schema = answer["content"]["application/json"]["schema"]
                if schema != ERROR_MESSAGE_REF:
                    answer["description"] += f" Or (an ErrorMessage): {description}"
                    answer["content"]["application/json"]["schema"] = {"oneOf": [schema, ERROR_MESSAGE_REF]}
    return result
