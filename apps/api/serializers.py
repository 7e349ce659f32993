"""The kit's serializer bases: one that refuses a body with the status its operation
answers (Codat's spec lists no 400 for some operations, and its SDK only types the errors
of statuses the operation lists), and one that documents a closed object."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from apps.core.refusals import Refused

from .errors import validation_items

REQUEST_INVALID = "The request made is not valid."


class RefusingSerializer(serializers.Serializer):
    """`is_valid(raise_exception=True)` raises Refused with `refusal_status` (400 unless the
    operation lists no 400) and one validation item per problem, named by field path."""

    refusal_status = 400

    def is_valid(self, *, raise_exception=False):
        valid = super().is_valid()
        if not valid and raise_exception:
            raise Refused(REQUEST_INVALID, errors=list(validation_items(self.errors)), status=self.refusal_status)
        return valid


class ClosedObjectSchema(serializers.Serializer):
    """Documents an answer that has exactly its fields (`additionalProperties: false`), as
    Codat's schemas say of some objects: so that of two such shapes, an answer matches one."""


class ClosedObjectSchemaExtension(OpenApiSerializerExtension):
    target_class = ClosedObjectSchema
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
