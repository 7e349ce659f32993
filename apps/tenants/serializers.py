"""The wire shapes of the companies API: Codat's Company in and out."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.api.serializers import RefusingSerializer

from .models import Company

MAX_TAGS = 10
TAG_NAME_LIMIT = 27
TAG_VALUE_LIMIT = 100
# Codat sets no limit on these; ours keep a company's answer small (a page lists up to 2000).
NAME_LIMIT = 200
DESCRIPTION_LIMIT = 1000


def _validate_tags(tags):
    if tags is None:
        return tags
    if len(tags) > MAX_TAGS:
        raise serializers.ValidationError(f"At most {MAX_TAGS} tags.")
    for key, value in tags.items():
        if not 1 <= len(key) <= TAG_NAME_LIMIT:
            raise serializers.ValidationError(f"Tag name {key!r} must be 1 to {TAG_NAME_LIMIT} characters.")
        if not isinstance(value, str) or len(value) > TAG_VALUE_LIMIT:
            raise serializers.ValidationError(f"Tag {key!r} must be a string of at most {TAG_VALUE_LIMIT} characters.")
    return tags


class CompanyInput(RefusingSerializer):
    """Codat's CompanyRequestBody, as create-company reads it."""

    name = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=NAME_LIMIT)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False,
                                        max_length=DESCRIPTION_LIMIT)
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, allow_null=True,
                                 validators=[_validate_tags])


class CompanyReplaceInput(CompanyInput):
    """replace-company's body. Codat's spec lists no 400 for it (its SDK would not type
    the error), so a body refused is a 403."""

    refusal_status = 403


class CompanyPatchInput(CompanyReplaceInput):
    """update-company's body: every field optional (CompanyUpdateRequest); refused as a 403."""

    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False,
                                 max_length=NAME_LIMIT)


class DataConnections:
    """How a company's `dataConnections` are written: the app that owns connections (above
    tenants, so tenants imports nothing of it) registers its serializer here in its
    AppConfig.ready(). Unregistered, a company lists none."""

    serializer = None
    prefetch: tuple[str, ...] = ()

    @classmethod
    def register(cls, serializer, *, prefetch: tuple[str, ...] = ()):
        cls.serializer, cls.prefetch = serializer, prefetch


@extend_schema_serializer(component_name="Company")
class CompanyOutput(serializers.ModelSerializer):
    """Codat's Company."""

    redirect = serializers.CharField()
    lastSync = serializers.SerializerMethodField()
    createdByUserName = serializers.CharField(source="created_by_user_name", allow_null=True)
    products = serializers.SerializerMethodField()
    referenceSubsidiaryCompanies = serializers.SerializerMethodField()
    dataConnections = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = ["id", "name", "description", "redirect", "lastSync", "created", "createdByUserName",
                  "products", "tags", "referenceSubsidiaryCompanies", "dataConnections"]

    def get_lastSync(self, company) -> str | None:
        return None

    def get_products(self, company) -> list[str]:
        return ["bank-feeds"]

    def get_referenceSubsidiaryCompanies(self, company) -> list:
        return []

    def get_dataConnections(self, company) -> list[dict]:
        if DataConnections.serializer is None:
            return []
        return DataConnections.serializer(company.connections.all(), many=True, context=self.context).data


def companies_for_output(queryset):
    """`queryset` with what CompanyOutput reads prefetched."""
    return queryset.prefetch_related(*DataConnections.prefetch)
