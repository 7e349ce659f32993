"""Who may see a company in the portal: its members, and a browser that came in
through the company's portal link."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.tenants.models import Company, CompanyMembership

SESSION_KEY = "portal_companies"
# The partner whose portal this browser last used: brands pages that have no company
# (sign-in, sign-out) and picks their fallback language.
PARTNER_SESSION_KEY = "portal_partner"


def grant_company(request, company: Company) -> None:
    """Remember in this session that the browser came in by the company's link; a
    signed-in user also becomes a member, so they can come back by email login. The
    session gets a new key first, as a sign-in does: a session id planted in the browser
    beforehand must not gain the company (session fixation)."""
    request.session.cycle_key()
    granted = set(request.session.get(SESSION_KEY, []))
    granted.add(str(company.pk))
    request.session[SESSION_KEY] = sorted(granted)
    request.session[PARTNER_SESSION_KEY] = company.partner_id
    if request.user.is_authenticated:
        CompanyMembership.objects.get_or_create(user=request.user, company=company)


def portal_company(request, company_id) -> Company:
    """The company if this visitor may manage it, else 404 (never 403)."""
    company = get_object_or_404(Company.objects.select_related("partner"), pk=company_id)
    if str(company.pk) in request.session.get(SESSION_KEY, []) or (
        request.user.is_authenticated and company.memberships.filter(user=request.user).exists()
    ):
        request.portal_partner = company.partner
        if request.session.get(PARTNER_SESSION_KEY) != company.partner_id:
            request.session[PARTNER_SESSION_KEY] = company.partner_id
        return company
    raise Http404("No such company")


def link_partner(token: str):
    """The partner a portal link was issued for, read without checking its age or use
    (for branding and language only, never for access)."""
    from django.core import signing

    from apps.tenants.models import Partner
    from apps.xero_auth.models import LINK_SALT

    try:
        payload = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not payload.get("c"):
        return None
    return Partner.objects.filter(companies__connections__pk=payload["c"]).first()


def visible_companies(request):
    ids = request.session.get(SESSION_KEY, [])
    companies = Company.objects.filter(pk__in=ids)
    if request.user.is_authenticated:
        companies = companies | Company.objects.filter(memberships__user=request.user)
    return companies.select_related("partner").distinct()
