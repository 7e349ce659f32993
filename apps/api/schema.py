"""This server's own OpenAPI document (drf-spectacular): Codat's path parameter names and
the ErrorMessage answers every operation can give."""

import re

ERROR_MESSAGE = {
    "type": "object",
    "properties": {
        "statusCode": {"type": "integer"},
        "service": {"type": "string"},
        "error": {"type": "string"},
        "correlationId": {"type": "string"},
        "validation": {
            "type": "object",
            "nullable": True,
            "properties": {
                kind: {"type": "array", "nullable": True, "items": {"$ref": "#/components/schemas/ValidationItem"}}
                for kind in ("errors", "warnings")
            },
        },
        "canBeRetried": {"type": "string"},
        "detailedErrorCode": {"type": "integer"},
    },
}
VALIDATION_ITEM = {
    "type": "object",
    "properties": {k: {"type": "string", "nullable": True} for k in ("itemId", "message", "validatorName")},
}
ERROR_STATUSES = {
    "400": "The request made is not valid.",
    "401": "Your API request was not properly authorized.",
    "404": "One or more of the resources you referenced could not be found.",
    "429": "Too many requests were made in a given amount of time.",
    "500": "There is a problem with our server.",
    "503": "A service this operation needs (Xero) is unavailable; retry later.",
}


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def add_error_messages(result, generator, request, public):
    """Postprocessing hook: Codat's path parameter names (companyId, not company_id), and
    every partner operation answers errors as ErrorMessage."""
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
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}}
    for item in result.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": content})
    return result
