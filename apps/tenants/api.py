"""Companies operations of the partner API (Codat's create/list/get/replace/update/delete)."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query, tags_to_q

from . import services
from .models import Company
from .selectors import company_for_partner
from .serializers import CompanyInput, CompanyOutput, CompanyPatchInput, companies_for_output

COMPANY_FIELDS = {
    "id": Field("id"),
    "name": Field("name"),
    "description": Field("description"),
    "created": Field("created", "datetime"),
}


class CompaniesView(APIView):
    @extend_schema(operation_id="list-companies", tags=["Companies"], responses=CompanyOutput(many=True),
                   parameters=[*QUERY_PARAMETERS, OpenApiParameter("tags", str, description="Filter by tags.")])
    def get(self, request):
        companies = companies_for_output(Company.objects.filter(partner=request.user))
        companies = apply_query(companies, request, COMPANY_FIELDS, "Company", "-created")
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
