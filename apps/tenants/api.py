"""Companies operations of the partner API (Codat's create/list/get/replace/update/delete)."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.idempotency import idempotent
from apps.api.paging import CodatPagination
from apps.api.query import QUERY_PARAMETERS, Field, apply_query, tags_to_q
from apps.api.schema import ERROR_EXAMPLE, error_answers

from . import services
from .models import Company
from .selectors import company_for_partner
from .serializers import CompanyInput, CompanyOutput, CompanyPatchInput, CompanyReplaceInput, companies_for_output

COMPANY_FIELDS = {
    "id": Field("id"),
    "name": Field("name"),
    "description": Field("description"),
    "created": Field("created", "datetime"),
}


COMPANY_EXAMPLE = {"name": "Technicalium", "description": "Requested early access", "tags": {"uid": "cust-42"}}
TAGS_RULE = "`tags`: at most 10, names of 1 to 27 characters, values strings of at most 100."
NAME_RULE = ("`name` keeps only the characters Codat allows (letters, digits, spaces and - ' , & @ . ? !): "
             "`Company (Codat[1])` becomes `Company Codat1`; a name left empty is refused.")


class CompaniesView(APIView):
    pagination_class = CodatPagination

    @extend_schema(
        operation_id="list-companies", tags=["Companies"], summary="List companies",
        description="The partner's companies, newest first, paged. `query` and `orderBy` take id, name, "
                    "description, created; `tags` filters by tags with the same language (`region=uk && "
                    "owningTeam~lending`). A query that cannot be read is a 400 naming the problem.",
        parameters=[*QUERY_PARAMETERS, OpenApiParameter("tags", str, description="Filter by tags, e.g. `region=uk`.")],
        responses={200: CompanyOutput(many=True), **error_answers(400)})
    def get(self, request):
        companies = companies_for_output(Company.objects.filter(partner=request.user))
        companies = apply_query(companies, request, COMPANY_FIELDS, "Company", "-created")
        if request.query_params.get("tags"):
            companies = companies.filter(tags_to_q(request.query_params["tags"]))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(companies, request, self)
        return paginator.get_paginated_response(CompanyOutput(page, many=True).data)

    @extend_schema(
        operation_id="create-company", tags=["Companies"], summary="Create a company",
        description=f"A company: the partner's SMB customer. {NAME_RULE} {TAGS_RULE} A body breaking these is a "
                    "400.",
        request=CompanyInput, examples=[OpenApiExample("A company", value=COMPANY_EXAMPLE, request_only=True),
                                        ERROR_EXAMPLE],
        responses={200: CompanyOutput, **error_answers(400)})
    @idempotent
    def post(self, request):
        data = CompanyInput(data=request.data)
        data.is_valid(raise_exception=True)
        company = services.company_create(partner=request.user, created_by=request.auth.name, **data.validated_data)
        return Response(CompanyOutput(company).data)


class CompanyView(APIView):
    @extend_schema(
        operation_id="get-company", tags=["Companies"], summary="Get a company",
        description="One company with its data connection. Another partner's company is the same 404 as a missing "
                    "one.",
        responses={200: CompanyOutput, **error_answers(404)})
    def get(self, request, company_id):
        return Response(CompanyOutput(company_for_partner(request.user, company_id)).data)

    @extend_schema(
        operation_id="replace-company", tags=["Companies"], summary="Replace a company",
        description=f"Replaces name, description and tags: fields left out are cleared. {NAME_RULE} {TAGS_RULE} "
                    "A body breaking these is a 403: Codat's spec lists no 400 for this operation.",
        request=CompanyReplaceInput, examples=[OpenApiExample("A company", value=COMPANY_EXAMPLE, request_only=True)],
        responses={200: CompanyOutput, **error_answers((403, "The body was refused (see validation)."), 404)})
    def put(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        data = CompanyReplaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.company_update(company=company, replace=True, **data.validated_data)
        return Response(CompanyOutput(company).data)

    @extend_schema(
        operation_id="update-company", tags=["Companies"], summary="Update a company",
        description=f"Changes the fields sent; a field left out or null stays as it is. {NAME_RULE} {TAGS_RULE} "
                    "A body breaking these is a 403: Codat's spec lists no 400 for this operation.",
        request=CompanyPatchInput, examples=[OpenApiExample("New tags", value={"tags": {"region": "uk"}},
                                                            request_only=True)],
        responses={200: CompanyOutput, **error_answers((403, "The body was refused (see validation)."), 404)})
    @idempotent
    def patch(self, request, company_id):
        company = company_for_partner(request.user, company_id)
        data = CompanyPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.company_update(company=company, replace=False, **data.validated_data)
        return Response(CompanyOutput(company).data)

    @extend_schema(
        operation_id="delete-company", tags=["Companies"], summary="Delete a company",
        description="Deletes the company and everything under it, once its Xero access is revoked; Xero "
                    "unreachable for that is a 503 and nothing is deleted.",
        responses={204: None, **error_answers(404, 503)})
    def delete(self, request, company_id):
        services.company_delete(company=company_for_partner(request.user, company_id))
        return Response(status=204)


urlpatterns = [
    path("companies", CompaniesView.as_view(), name="companies"),
    path("companies/<str:company_id>", CompanyView.as_view(), name="company"),
]
