"""Companies operations of the partner API (Codat's create/list/get/replace/update/delete)."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .codat_query import Field, apply_query, tags_to_q
from .idempotency import idempotent
from .models import Company
from .paging import CodatPagination
from .selectors import company_for_partner

COMPANY_FIELDS = {
    "id": Field("id"),
    "name": Field("name"),
    "description": Field("description"),
    "created": Field("created", "datetime"),
}
QUERY_PARAMETERS = [
    OpenApiParameter("query", str, description="Codat query string, e.g. `name~bank && created>2024-01-01`."),
    OpenApiParameter("orderBy", str, description="Property to order by; prefix `-` for descending."),
]


def _validate_tags(tags):
    if tags is None:
        return tags
    if len(tags) > services.MAX_TAGS:
        raise serializers.ValidationError(f"At most {services.MAX_TAGS} tags.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 27:
            raise serializers.ValidationError(f"Tag name {key!r} must be 1 to 27 characters.")
        if not isinstance(value, str) or len(value) > 100:
            raise serializers.ValidationError(f"Tag {key!r} must be a string of at most 100 characters.")
    return tags


class CompanyInput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, allow_null=True,
                                 validators=[_validate_tags])


class CompanyPatchInput(CompanyInput):
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


class CompanyOutput(serializers.ModelSerializer):
    """Codat's Company. The connections app sets `connection_serializer` at start-up, so
    tenants, the bottom layer, needs no import of it to list `dataConnections`."""

    connection_serializer = None

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
        if self.connection_serializer is None:
            return []
        return self.connection_serializer(company.connections.all(), many=True, context=self.context).data


def companies_for(partner):
    queryset = Company.objects.filter(partner=partner)
    if CompanyOutput.connection_serializer is not None:
        queryset = queryset.prefetch_related("connections")
    return queryset


class CompaniesView(APIView):
    @extend_schema(operation_id="list-companies", tags=["Companies"], responses=CompanyOutput(many=True),
                   parameters=[*QUERY_PARAMETERS, OpenApiParameter("tags", str, description="Filter by tags.")])
    def get(self, request):
        companies = apply_query(companies_for(request.user), request, COMPANY_FIELDS, "Company", "-created")
        if request.query_params.get("tags"):
            companies = companies.filter(tags_to_q(request.query_params["tags"]))
        paginator = CodatPagination()
        page = paginator.paginate_queryset(companies, request, self)
        return paginator.get_paginated_response(CompanyOutput(page, many=True).data)

    @extend_schema(operation_id="create-company", tags=["Companies"], request=CompanyInput, responses=CompanyOutput)
    @idempotent
    def post(self, request):
        data = CompanyInput(data=request.data)
        data.is_valid(raise_exception=True)
        company = services.company_create(partner=request.user, created_by=request.auth.name, **data.validated_data)
        return Response(CompanyOutput(company).data)


class CompanyView(APIView):
    @extend_schema(operation_id="get-company", tags=["Companies"], responses=CompanyOutput)
    def get(self, request, company_id):
        return Response(CompanyOutput(company_for_partner(request.user, company_id)).data)

    @extend_schema(operation_id="replace-company", tags=["Companies"], request=CompanyInput, responses=CompanyOutput)
    def put(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        data = CompanyInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.company_update(company=company, replace=True, **data.validated_data)
        return Response(CompanyOutput(company).data)

    @extend_schema(operation_id="update-company", tags=["Companies"], request=CompanyPatchInput,
                   responses=CompanyOutput)
    @idempotent
    def patch(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        data = CompanyPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.company_update(company=company, replace=False, **data.validated_data)
        return Response(CompanyOutput(company).data)

    @extend_schema(operation_id="delete-company", tags=["Companies"], responses={204: None})
    def delete(self, request, company_id):
        services.company_delete(company=company_for_partner(request.user, company_id))
        return Response(status=204)


urlpatterns = [
    path("companies", CompaniesView.as_view(), name="companies"),
    path("companies/<str:company_id>", CompanyView.as_view(), name="company"),
]
