"""Who may see a company in the portal: its members, and a browser that came in
through the company's portal link."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.tenants.models import Company, CompanyMembership

SESSION_KEY = "portal_companies"


def grant_company(request, company: Company) -> None:
    """Remember in this session that the browser came in by the company's link; a
    signed-in user also becomes a member, so they can come back by email login."""
    granted = set(request.session.get(SESSION_KEY, []))
    granted.add(str(company.pk))
    request.session[SESSION_KEY] = sorted(granted)
    if request.user.is_authenticated:
        CompanyMembership.objects.get_or_create(user=request.user, company=company)


def portal_company(request, company_id) -> Company:
    """The company if this visitor may manage it, else 404 (never 403)."""
    company = get_object_or_404(Company.objects.select_related("partner"), pk=company_id)
    if str(company.pk) in request.session.get(SESSION_KEY, []):
        return company
    if request.user.is_authenticated and company.memberships.filter(user=request.user).exists():
        return company
    raise Http404("No such company")


def visible_companies(request):
    ids = request.session.get(SESSION_KEY, [])
    companies = Company.objects.filter(pk__in=ids)
    if request.user.is_authenticated:
        companies = companies | Company.objects.filter(memberships__user=request.user)
    return companies.select_related("partner").distinct()
